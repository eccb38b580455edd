package campaigns

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestPhonePlace places numbers by country and, for US numbers, by the
// state of their area code.
func TestPhonePlace(t *testing.T) {
	for phone, want := range map[string]Place{
		"+13055550123":  {"US", "US-FL"}, // Miami
		"+18135550123":  {"US", "US-FL"}, // Tampa
		"+12125550123":  {"US", "US-NY"},
		"+12025550123":  {"US", "US-DC"},
		"+14165550123":  {"CA", ""}, // Toronto: a country, no US state
		"+17875550123":  {"PR", ""}, // Puerto Rico has its own country code
		"+18005550123":  {"US", ""}, // toll-free: no state
		"+33612345678":  {"FR", ""},
		"+447700900123": {"GB", ""},
		"0612345678":    {}, // not E.164
		"":              {},
	} {
		if got := PhonePlace(phone); got != want {
			t.Errorf("PhonePlace(%q) = %+v, want %+v", phone, got, want)
		}
	}
}

const areaCodesFile = "us-area-codes.txt"

// TestUSAreaCodesMatchLibphonenumber checks the embedded area-code table
// against the data it was generated from (libphonenumber's geocoding, in the
// phonenumbers version go.mod requires), on a sample of exchanges per area
// code: the same state, and no US area code with a state missing. With
// -update it regenerates the file from every exchange (about a minute).
func TestUSAreaCodesMatchLibphonenumber(t *testing.T) {
	t.Parallel() // loading libphonenumber's geocoding data takes most of a second
	version := phonenumbersVersion(t)
	if *update {
		writeAreaCodes(t, version)
	}
	if !strings.Contains(usAreaCodesData, "phonenumbers "+version) {
		t.Fatalf("%s was generated from another phonenumbers than go.mod's %s: run go test ./campaigns -run TestUSAreaCodes -update",
			areaCodesFile, version)
	}
	table := usAreaCodes()
	sample := make([]int, 0, 16)
	for ex := 201; ex <= 999; ex += 53 {
		sample = append(sample, ex)
	}
	for npa := 200; npa <= 999; npa++ {
		state, us := areaCodeState(npa, sample)
		got, listed := table[fmt.Sprint(npa)]
		switch {
		case listed && !us:
			t.Errorf("area code %d is listed as %s but libphonenumber does not place it in the US", npa, got)
		case state != "" && got != "US-"+state:
			t.Errorf("area code %d: table says %q, libphonenumber's exchanges say US-%s", npa, got, state)
		}
	}
	if len(table) < 300 {
		t.Fatalf("only %d area codes in the table", len(table))
	}
}

// areaCodeState is the state most of the exchanges of npa are described
// with ("" when none names a state), and whether the area code is in the US.
func areaCodeState(npa int, exchanges []int) (string, bool) {
	votes, us := map[string]int{}, false
	for _, ex := range exchanges {
		num, err := phonenumbers.Parse(fmt.Sprintf("+1%03d%03d0100", npa, ex), "")
		if err != nil || phonenumbers.GetRegionCodeForNumber(num) != "US" {
			continue
		}
		us = true
		desc, _ := phonenumbers.GetGeocodingForNumber(num, "en")
		if st := stateCode(desc); st != "" {
			votes[st]++
		}
	}
	best := ""
	for st, n := range votes {
		if best == "" || n > votes[best] || (n == votes[best] && st < best) {
			best = st
		}
	}
	return best, us
}

// stateCode reads the state out of a geocoding description: "Florida",
// "San Francisco, CA", "Washington D.C.". "" for none ("United States").
func stateCode(desc string) string {
	if i := strings.LastIndex(desc, ", "); i >= 0 {
		desc = desc[i+2:]
	}
	if len(desc) == 2 {
		for _, code := range stateNames {
			if code == desc {
				return desc
			}
		}
		return ""
	}
	return stateNames[desc]
}

var stateNames = map[string]string{
	"Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
	"Connecticut": "CT", "Delaware": "DE", "Washington D.C.": "DC", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI",
	"Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
	"Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
	"Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
	"New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
	"Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
	"Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington State": "WA",
	"Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}

// phonenumbersVersion is the version of github.com/nyaruka/phonenumbers
// that go.mod requires.
func phonenumbersVersion(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github\.com/nyaruka/phonenumbers (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/nyaruka/phonenumbers")
	}
	return string(m[1])
}

// writeAreaCodes regenerates the table from every exchange of every area
// code.
func writeAreaCodes(t *testing.T, version string) {
	t.Helper()
	all := make([]int, 0, 800)
	for ex := 200; ex <= 999; ex++ {
		all = append(all, ex)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# US area codes and the state each serves (the ISO 3166-2 subdivision after "US-"), for
# contact-policy rules by state (docs/policy.md).
#
# Source: libphonenumber's geocoding data for +1 (resources/geocoding/en/1.txt; Google,
# Apache License 2.0) as shipped in github.com/nyaruka/phonenumbers %s: an area code's state
# is the one most of its exchanges are described with. NANPA (https://nationalnanpa.com)
# assigns the area codes; non-geographic ones (toll-free 8XX, 5XX, 900) serve no state and are
# left out, as are Canada and the other NANP countries (they have country codes of their own).
#
# Regenerate after upgrading phonenumbers: go test ./campaigns -run TestUSAreaCodes -update
`, version)
	n := 0
	for npa := 200; npa <= 999; npa++ {
		if st, _ := areaCodeState(npa, all); st != "" {
			fmt.Fprintf(&b, "%d %s\n", npa, st)
			n++
		}
	}
	if err := os.WriteFile(areaCodesFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d area codes to %s; rebuild to embed them", n, areaCodesFile)
}
