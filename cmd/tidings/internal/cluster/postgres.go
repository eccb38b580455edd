package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tidings-crm/tidings/internal/wait"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/storetest"
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
	if err := postgresPossible(); err != nil {
		t.Skipf("cluster: private PostgreSQL unavailable: %v", err)
	}
	p, err := startPostgres()
	if p != nil {
		t.Cleanup(p.remove)
	}
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	p.t = t
	return p
}

var shared struct {
	once sync.Once
	pg   *Postgres
	err  error
}

// SharedDatabase returns the URL of a fresh schema (dropped when the test
// ends) in a private PostgreSQL cluster that all the tests of this binary
// share (started on first use, removed by RunTests). Many tidings processes
// at once would exhaust the connections of the PostgreSQL other packages'
// tests use; this one allows 500. Where a private cluster is impossible
// (not root), it falls back to a schema of the test PostgreSQL and says so.
func SharedDatabase(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if shared.err = postgresPossible(); shared.err == nil {
			shared.pg, shared.err = startPostgres()
		}
	})
	if shared.err != nil {
		t.Logf("cluster: no private PostgreSQL (%v); using the test PostgreSQL", shared.err)
		return storetest.URL(t, store.Postgres)
	}
	return shared.pg.schema(t)
}

// schema creates a schema for this test and returns its URL.
func (p *Postgres) schema(t testing.TB) string {
	t.Helper()
	admin, err := sqlx.Open("pgx", p.URL())
	if err != nil {
		t.Fatal(err)
	}
	name := "drill_" + randomHex(t, 6)
	if _, err := admin.Exec(`CREATE SCHEMA ` + name); err != nil { // hex digits only: safe to splice
		admin.Close()
		t.Fatalf("cluster: create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + name + ` CASCADE`); err != nil {
			t.Errorf("cluster: drop schema %s: %v", name, err)
		}
	})
	u, _ := url.Parse(p.URL())
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresPossible says why a private cluster cannot run here, or nil.
func postgresPossible() error {
	if _, err := postgresBin(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("it needs root to run initdb as the postgres user")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		return fmt.Errorf("it needs a postgres system user: %w", err)
	}
	return nil
}

// startPostgres runs initdb in a new folder owned by postgres and starts
// the server. A non-nil cluster is returned with an error too, for removal.
func startPostgres() (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	p, err := newPostgres(bin)
	if err != nil {
		return p, err
	}
	if out, err := p.asPostgres(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "root", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale", "C"); err != nil {
		return p, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return p, p.start()
}

// newPostgres makes the folder of a cluster, owned by postgres, and picks
// its port. A non-nil cluster is returned with an error too, for removal.
func newPostgres(bin string) (*Postgres, error) {
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	// Not t.TempDir: the postgres user must be able to reach the folder.
	dir, err := os.MkdirTemp("", "tidings-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, bin: bin}
	if err := os.Chown(dir, uid, gid); err != nil {
		return p, fmt.Errorf("chown %s to postgres: %w", dir, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return p, err
	}
	p.Addr = ln.Addr().String()
	ln.Close()
	return p, nil
}

// StartReplica takes a base backup of p (pg_basebackup -R, streaming the
// WAL) into a cluster of its own and starts it as a hot standby of p on
// another port, removed when the test ends. initdb's pg_hba.conf lets
// 127.0.0.1 replicate.
func (p *Postgres) StartReplica(t testing.TB) *Postgres {
	t.Helper()
	r, err := newPostgres(p.bin)
	if r != nil {
		t.Cleanup(r.remove)
	}
	if err == nil {
		host, port, _ := net.SplitHostPort(p.Addr)
		var out []byte
		if out, err = r.asPostgres(filepath.Join(p.bin, "pg_basebackup"), "-h", host, "-p", port, "-U", "root",
			"-D", r.data(), "-R", "-X", "stream", "-c", "fast"); err != nil {
			err = fmt.Errorf("pg_basebackup: %v\n%s", err, out)
		} else {
			err = r.start()
		}
	}
	if err != nil {
		t.Fatalf("cluster: replica: %v", err)
	}
	r.t = t
	return r
}

// remove stops the server at once and deletes its folder.
func (p *Postgres) remove() {
	_ = p.pgCtl("stop", "-m", "immediate")
	os.RemoveAll(p.dir)
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
	if err := p.start(); err != nil {
		p.t.Fatalf("cluster: %v", err)
	}
}

func (p *Postgres) start() error {
	host, port, _ := net.SplitHostPort(p.Addr)
	// fsync=off survives a server crash (the WAL reaches the kernel at each
	// commit), not a machine crash: enough for a drill. synchronous_commit
	// stays on: with it off a crash loses acknowledged commits, and the drill
	// would be testing that, not tidings.
	opts := fmt.Sprintf("-c listen_addresses=%s -p %s -k %s -c fsync=off -c max_connections=500 -c shared_buffers=64MB",
		host, port, p.dir)
	if err := p.pgCtl("start", "-w", "-t", "60", "-l", filepath.Join(p.dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		return fmt.Errorf("start PostgreSQL: %v\n%s", err, log)
	}
	db, err := sqlx.Open("pgx", p.URL())
	if err != nil {
		return err
	}
	defer db.Close()
	if wait.UntilEvery(30*time.Second, 50*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = db.PingContext(ctx)
		return err == nil
	}) {
		return nil
	}
	return fmt.Errorf("PostgreSQL on %s does not answer: %v", p.Addr, err)
}

// Stop stops the server: "fast" disconnects every client and shuts down
// cleanly; "immediate" is a crash (recovery at the next start).
func (p *Postgres) Stop(mode string) {
	p.t.Helper()
	if err := p.pgCtl("stop", "-w", "-m", mode); err != nil {
		p.t.Fatalf("cluster: stop PostgreSQL: %v", err)
	}
}
