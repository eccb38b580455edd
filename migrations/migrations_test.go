package migrations_test

import (
	"testing"

	"github.com/tidings-crm/tidings/migrations"
)

// inFlight are migration numbers reserved by work that lands separately:
// a later number may land first (Up applies each missing version, in any
// order it finds them). Remove a number once its migration is on main.
var inFlight = map[int]bool{}

// Both dialects must carry the same numbered migrations, so a database can
// move between them and the code sees one schema.
func TestDialectsHaveTheSameMigrations(t *testing.T) {
	pg, err := migrations.Available("postgres")
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations.Available("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d; want the same non-zero number", len(pg), len(lite))
	}
	want := 1
	for i := range pg {
		if pg[i].File() != lite[i].File() {
			t.Errorf("migration %d: postgres %s, sqlite %s", i, pg[i].File(), lite[i].File())
		}
		for inFlight[want] && pg[i].Version > want {
			want++
		}
		if pg[i].Version != want {
			t.Errorf("migration %s: version %d, want %d (no gaps)", pg[i].File(), pg[i].Version, want)
		}
		want++
	}
	if _, err := migrations.Available("mysql"); err == nil {
		t.Error("Available(mysql) succeeded, want an unknown dialect error")
	}
}
