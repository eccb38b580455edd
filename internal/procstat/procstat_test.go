package procstat_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tidings-crm/tidings/internal/procstat"
)

// TestCPUCountsThisProcess: after burning CPU, this process's reading has
// grown by about that much; an unknown pid reads 0; the process's own
// command name finds it among all processes.
func TestCPUCountsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	// Spin until getrusage says 100 ms of CPU went by (however loaded the
	// machine), then /proc must say about as much.
	before, ru0 := procstat.CPU(os.Getpid()), rusage()
	x := 0.0
	for rusage()-ru0 < 100*time.Millisecond {
		for i := range 100000 {
			x += float64(i) * 1e-9
		}
	}
	grew := procstat.CPU(os.Getpid()) - before
	if grew < 60*time.Millisecond || x == 0 {
		t.Errorf("100 ms of CPU by getrusage grew /proc's reading by %v, want about as much", grew)
	}
	if got := procstat.CPU(1 << 30); got != 0 {
		t.Errorf("CPU of a pid that does not exist = %v, want 0", got)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	comm := filepath.Base(exe)
	if len(comm) > 15 {
		comm = comm[:15] // the kernel keeps 15 bytes of the name
	}
	self := procstat.CPU(os.Getpid()) // read first: it only grows
	if all := procstat.CPUOf(comm); all < self {
		t.Errorf("CPUOf(%q) = %v, less than this process alone (%v)", comm, all, self)
	}
}

func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPostgresBackendsFindsOurConnection: a query that burns CPU in the
// backend serving this process's connection shows in PostgresBackends'
// reading, and no backend of another client is counted.
func TestPostgresBackendsFindsOurConnection(t *testing.T) {
	url := os.Getenv("TIDINGS_TEST_DATABASE_URL")
	if url == "" {
		url = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var backend int
	if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatalf("PostgreSQL at %s: %v (eval \"$(scripts/test-services.sh)\" finds or starts one)", url, err)
	}
	before := procstat.PostgresBackends()
	if _, ok := before[backend]; !ok || len(before) != 1 {
		t.Fatalf("backends of this process = %v, want exactly our connection's backend %d", before, backend)
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM generate_series(1, 5000000)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if used := procstat.PostgresBackends().Since(before); used < 20*time.Millisecond {
		t.Errorf("counting 5,000,000 rows used %v of the backend's CPU, want some", used)
	}
}
