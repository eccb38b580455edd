package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// Postgres is a private PostgreSQL cluster (initdb + pg_ctl, run as the
// postgres system user) on a free port, so a drill can stop and start it
// without touching the server other tests share. It needs root (to switch
// to postgres with runuser) and the server binaries (pg_config --bindir,
// /usr/lib/postgresql/*/bin or PATH).
type Postgres struct {
	Addr string // 127.0.0.1:port
	dir  string // data folder, owned by postgres
	bin  string
	t    testing.TB
}

// StartPostgres initialises and starts a private cluster, removed when the
// test ends. It skips the test with the reason when that is impossible
// here (not root, no postgres user, no binaries).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Skipf("cluster: private PostgreSQL unavailable: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("cluster: private PostgreSQL needs root to run initdb as the postgres user")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("cluster: private PostgreSQL needs a postgres system user: %v", err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	// Not t.TempDir: the postgres user must be able to reach the folder.
	dir, err := os.MkdirTemp("", "tidings-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("cluster: chown %s to postgres: %v", dir, err)
	}
	p := &Postgres{Addr: FreeAddr(t), dir: dir, bin: bin, t: t}
	t.Cleanup(func() {
		_ = p.pgCtl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if out, err := p.asPostgres(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "root", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale", "C"); err != nil {
		t.Fatalf("cluster: initdb: %v\n%s", err, out)
	}
	p.Start()
	return p
}

// postgresBin finds the folder of initdb and pg_ctl.
func postgresBin() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := string(bytes.TrimSpace(out))
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(m) > 0 {
		return filepath.Dir(m[len(m)-1]), nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	return "", fmt.Errorf("no pg_ctl found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH)")
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

// URL returns a connection URL to the cluster's postgres database as root.
func (p *Postgres) URL() string {
	return "postgres://root@" + p.Addr + "/postgres?sslmode=disable"
}

func (p *Postgres) asPostgres(name string, args ...string) ([]byte, error) {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	return cmd.CombinedOutput()
}

func (p *Postgres) pgCtl(args ...string) error {
	out, err := p.asPostgres(filepath.Join(p.bin, "pg_ctl"), append([]string{"-D", p.data()}, args...)...)
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	host, port, _ := net.SplitHostPort(p.Addr)
	// fsync=off survives a server crash (the WAL reaches the kernel at each
	// commit), not a machine crash: enough for a drill. synchronous_commit
	// stays on: with it off a crash loses acknowledged commits, and the drill
	// would be testing that, not tidings.
	opts := fmt.Sprintf("-c listen_addresses=%s -p %s -k %s -c fsync=off -c max_connections=200",
		host, port, p.dir)
	if err := p.pgCtl("start", "-w", "-t", "60", "-l", filepath.Join(p.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		p.t.Fatalf("cluster: start PostgreSQL: %v\n%s", err, log)
	}
	db, err := sqlx.Open("pgx", p.URL())
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("cluster: PostgreSQL on %s does not answer: %v", p.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server: "fast" disconnects every client and shuts down
// cleanly; "immediate" is a crash (recovery at the next start).
func (p *Postgres) Stop(mode string) {
	p.t.Helper()
	if err := p.pgCtl("stop", "-w", "-m", mode); err != nil {
		p.t.Fatalf("cluster: stop PostgreSQL: %v", err)
	}
}
