package campaigns

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRender measures one email (subject, text, html) for one customer,
// data map included: the per-customer cost in the delivery pipeline.
func BenchmarkRender(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "birthday-greeting.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	c, problems := Parse("b.yaml", data)
	if c == nil {
		b.Fatal(problems)
	}
	env := sampleEnv("fr-CA")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(c, "email", "fr-CA", "", c.Data(env, "", "https://x.example/u")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures loading one campaign file (YAML, rule, templates).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(examplesDir, "win-back-90d.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if c, problems := Parse("w.yaml", data); c == nil {
			b.Fatal(problems)
		}
	}
}
