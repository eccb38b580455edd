package campaigns

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Settings are the deployment settings campaign files are checked against;
// the zero value is the defaults.
type Settings struct {
	// Segments are the RFM segment names of the configured segment map
	// (TIDINGS_SEGMENT_MAP), which rules may compare rfm.segment with; nil
	// means insights' default map.
	Segments []string
}

// LoadDir loads every *.yaml and *.yml file of dir (not recursive), sorted
// by name. Duplicate ids are problems naming both files. Only campaigns
// without errors are returned.
func LoadDir(dir string) ([]*Campaign, []Problem) {
	files, err := campaignFiles(dir)
	if err != nil {
		return nil, []Problem{{File: dir, Message: err.Error()}}
	}
	return Settings{}.loadFiles(files)
}

// Load loads campaign files and folders (each folder as LoadDir), checking
// id uniqueness across all of them, with the default Settings.
func Load(paths ...string) ([]*Campaign, []Problem) { return Settings{}.Load(paths...) }

// Load is the package Load with these settings.
func (s Settings) Load(paths ...string) ([]*Campaign, []Problem) {
	var files []string
	var problems []Problem
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			problems = append(problems, Problem{File: path, Message: fmt.Sprintf("cannot read: %v", err)})
			continue
		}
		if !st.IsDir() {
			files = append(files, path)
			continue
		}
		more, err := campaignFiles(path)
		if err != nil {
			problems = append(problems, Problem{File: path, Message: err.Error()})
		}
		files = append(files, more...)
	}
	list, more := s.loadFiles(files)
	return list, append(problems, more...)
}

func campaignFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read campaigns folder: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

func (s Settings) loadFiles(files []string) ([]*Campaign, []Problem) {
	var (
		list     []*Campaign
		problems []Problem
		seen     = map[string]*Campaign{}
	)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, Problem{File: file, Message: fmt.Sprintf("cannot read: %v", err)})
			continue
		}
		c, ps := s.Parse(file, data)
		problems = append(problems, ps...)
		if c == nil {
			continue
		}
		if first, dup := seen[c.ID]; dup {
			problems = append(problems, Problem{File: file, Line: c.idPos.line, Col: c.idPos.col,
				Message: fmt.Sprintf("duplicate campaign id %q: also used by %s", c.ID, first.File)})
			continue
		}
		seen[c.ID] = c
		list = append(list, c)
	}
	return list, problems
}
