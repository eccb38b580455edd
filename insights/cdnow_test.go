package insights

import (
	"bufio"
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// summaryRow is one row of testdata/cdnow_customers_summary_with_transactions.csv.
type summaryRow struct {
	ID   string
	RFT  RFT
	ZBar float64
}

// loadSummary reads the 2,357-customer calibration summary published with
// the BG/NBD paper (columns ID, x, t_x, T in weeks, zbar = mean repeat spend).
func loadSummary(t testing.TB) []summaryRow {
	t.Helper()
	f, err := os.Open("testdata/cdnow_customers_summary_with_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "ID,x,t_x,T,zbar" {
		t.Fatalf("unexpected header %q", got)
	}
	out := make([]summaryRow, 0, len(recs)-1)
	for _, r := range recs[1:] {
		v := make([]float64, 4)
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, summaryRow{ID: r[0], RFT: RFT{X: v[0], TX: v[1], T: v[2]}, ZBar: v[3]})
	}
	return out
}

// loadSamplePurchases reads testdata/CDNOW_sample.txt (master id, sample id,
// date, CDs, dollars) keyed by the sample id, which is the summary's ID.
func loadSamplePurchases(t testing.TB) []Purchase {
	t.Helper()
	f, err := os.Open("testdata/CDNOW_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Purchase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 {
			t.Fatalf("bad line %q", sc.Text())
		}
		at, err := time.Parse("20060102", fs[2])
		if err != nil {
			t.Fatal(err)
		}
		amount, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.Atoi(fs[1])
		out = append(out, Purchase{CustomerID: strconv.Itoa(id), At: at, Amount: amount})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func summaryRFT(rows []summaryRow) []RFT {
	out := make([]RFT, len(rows))
	for i, r := range rows {
		out[i] = r.RFT
	}
	return out
}
