package campaigns

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and a
// campaign comes back exactly when there is no error.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	more, _ := filepath.Glob("testdata/validate/*.y*ml")
	for _, file := range append(files, more...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("audience: |\n  \"\\u00e9\" == first_name\n"))
	f.Add([]byte("messages: {email: {subject: \"{{ .a.b.c }}\", html: \"<a href='{{'>\"}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, problems := Parse("fuzz.yaml", data)
		if (c == nil) != HasErrors(problems) {
			t.Fatalf("campaign %v with problems %v", c != nil, problems)
		}
		for _, p := range problems {
			if p.Line < 0 || p.Col < 0 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
