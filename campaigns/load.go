package campaigns

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Settings are the deployment settings campaign files are checked against;
// the zero value is the defaults.
type Settings struct {
	// Segments are the RFM segment names of the configured segment map
	// (TIDINGS_SEGMENT_MAP), which rules may compare rfm.segment with; nil
	// means insights' default map.
	Segments []string
	// LedgerRetention is how long the deliveries ledger keeps its rows,
	// which no journey may wait longer than; zero means
	// DefaultLedgerRetention.
	LedgerRetention time.Duration
	// Topics are the deployment's topics (TIDINGS_TOPICS): the only ones a
	// campaign's topic and a rule's subscribed() may name.
	Topics []Topic
	// WebhookHosts are the hosts the webhook channel may post to
	// (TIDINGS_WEBHOOK_HOSTS): a messages.webhook.url on another host is a
	// load error. Empty: no campaign may use the webhook channel.
	WebhookHosts []string
}

// MaxFileSize is the largest campaign file Tidings reads (1 MiB). A campaign
// is a page of YAML; a file of megabytes is a mistake (a pasted export, an
// inline image), and parsing and compiling it would hold many times its size
// in memory in every process that loads the folder.
const MaxFileSize = 1 << 20

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
// id uniqueness across all of them, with the default Settings. A file named
// twice is loaded once.
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
	list, more := s.loadFiles(uniqueFiles(files))
	return list, append(problems, more...)
}

// uniqueFiles drops later mentions of a file already listed (a file given
// both by name and through its folder).
func uniqueFiles(files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		key := filepath.Clean(f)
		if abs, err := filepath.Abs(f); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	return out
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

// loadFiles parses every file, then rejects every file of an id that more
// than one file uses: which of them is meant is the author's call, not the
// file names' sort order, so neither runs until one is renamed (a running
// engine keeps the version it had; see worker.Engine.LoadCampaigns).
func (s Settings) loadFiles(files []string) ([]*Campaign, []Problem) {
	var (
		parsed   []*Campaign
		problems []Problem
		byID     = map[string][]*Campaign{}
	)
	for _, file := range files {
		data, p := readFile(file)
		if p != nil {
			problems = append(problems, *p)
			continue
		}
		c, ps := s.Parse(file, data)
		problems = append(problems, ps...)
		if c == nil {
			continue
		}
		byID[c.ID] = append(byID[c.ID], c)
		parsed = append(parsed, c)
	}
	var list []*Campaign
	for _, c := range parsed {
		same := byID[c.ID]
		if len(same) == 1 {
			list = append(list, c)
			continue
		}
		var others []string
		for _, o := range same {
			if o != c {
				others = append(others, o.File)
			}
		}
		problems = append(problems, Problem{File: c.File, Line: c.idPos.line, Col: c.idPos.col,
			Message: fmt.Sprintf("duplicate campaign id %q: also used by %s; give each campaign its own id (neither file is loaded while they share one)",
				c.ID, strings.Join(others, ", "))})
	}
	sortProblems(problems)
	return list, problems
}

// readFile reads a campaign file of at most MaxFileSize bytes. The size is
// checked before reading, and the read itself is bounded, so a huge file (or
// one growing while it is read, or a device) never lands in memory.
func readFile(file string) ([]byte, *Problem) {
	cannot := func(err error) *Problem {
		return &Problem{File: file, Message: fmt.Sprintf("cannot read: %v", err)}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, cannot(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, cannot(err)
	}
	if st.Size() > MaxFileSize {
		return nil, tooLarge(file, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, cannot(err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(file, int64(len(data)))
	}
	return data, nil
}

// tooLarge is the problem of a file over MaxFileSize; size is what was seen
// (at least the limit plus one byte).
func tooLarge(file string, size int64) *Problem {
	return &Problem{File: file, Line: 1, Col: 1, Message: fmt.Sprintf(
		"file is %s; the limit is 1 MiB: a campaign is a page of YAML, so keep data and images out of it (link images by URL)",
		fileSize(size))}
}

// fileSize formats a size over the limit in megabytes, or in bytes when
// rounding would make it look like the limit itself. A file whose size was
// not known before reading (a device, a file still growing) is only known
// to be over the limit.
func fileSize(n int64) string {
	if n == MaxFileSize+1 {
		return "larger than 1 MiB"
	}
	mb := float64(n) / 1e6
	if mb < 1.1 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MB", mb)
}
