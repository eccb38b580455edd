package campaigns

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestFileOverSizeLimitIsRejectedBeforeReading: a campaign file over 1 MiB
// is a problem saying its size and the limit, and is not read into memory
// (a 10 MB file once grew a running serve to 500 MB); the folder's other
// campaigns still load.
func TestFileOverSizeLimitIsRejectedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(examplesDir, "weekly-newsletter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.yaml"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse 64 MB file: cheap on disk, 64 MB in memory if read.
	if err := f.Truncate(64_000_000); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	list, problems := LoadDir(dir)
	runtime.ReadMemStats(&after)

	if len(list) != 1 || list[0].ID != "weekly-newsletter" {
		t.Errorf("loaded %d campaigns, want the good one", len(list))
	}
	want := big + ":1:1: file is 64.0 MB; the limit is 1 MiB"
	if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), want) {
		t.Fatalf("problems = %v, want %q", problems, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("loading allocated %d bytes: the big file was read", alloc)
	}
}

// TestFileOfUnknownSizeIsReadOnlyUpToTheLimit: a file whose size is not
// known before reading (here a link to /dev/zero, endless) is read no further
// than the limit and reported.
func TestFileOfUnknownSizeIsReadOnlyUpToTheLimit(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	list, problems := Load(dir)
	want := zero + ":1:1: file is larger than 1 MiB; the limit is 1 MiB"
	if len(list) != 0 || len(problems) != 1 || !strings.HasPrefix(problems[0].String(), want) {
		t.Fatalf("Load = %d campaigns, %v; want %q", len(list), problems, want)
	}
}

// TestFileAtSizeLimitLoads: the limit is inclusive; a file of exactly 1 MiB
// is parsed like any other.
func TestFileAtSizeLimitLoads(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(examplesDir, "weekly-newsletter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	padded := append(good, '\n', '#')
	padded = append(padded, strings.Repeat(" ", MaxFileSize-len(padded))...)
	path := filepath.Join(t.TempDir(), "padded.yaml")
	if err := os.WriteFile(path, padded, 0o644); err != nil {
		t.Fatal(err)
	}
	list, problems := Load(path)
	if len(list) != 1 || HasErrors(problems) {
		t.Fatalf("a file of exactly the limit: %d campaigns, %v", len(list), problems)
	}
}
