package imports_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

// badBytesCustomers has an invalid UTF-8 byte (line 4, first_name) and a NUL
// (line 6, plan, a custom attribute) in the middle of one batch of ten.
const badBytesCustomers = "external_id,email,first_name,plan\n" +
	"c1,c1@example.com,Ann,gold\n" +
	"c2,c2@example.com,Bob,gold\n" +
	"c3,c3@example.com,Ca\xfft,gold\n" +
	"c4,c4@example.com,Dan,gold\n" +
	"c5,c5@example.com,Eve,go\x00ld\n" +
	"c6,c6@example.com,Fay,gold\n" +
	"c7,c7@example.com,Gus,gold\n"

func TestImportCustomersKeepsGoodRowsAroundBadBytes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			sum, err := imports.Customers(ctx, st, strings.NewReader(badBytesCustomers), imports.Options{BatchSize: 10})
			if err != nil {
				t.Fatalf("import failed as a whole: %v", err)
			}
			checkRejections(t, sum, 7, 5, map[int]string{
				4: "first_name: the value is not valid UTF-8",
				6: "plan: the value contains a NUL byte",
			})
			for _, id := range []string{"c1", "c2", "c4", "c6", "c7"} {
				if _, err := st.CustomerByExternalID(ctx, id); err != nil {
					t.Errorf("good row %s not stored: %v", id, err)
				}
			}
			for _, id := range []string{"c3", "c5"} {
				if _, err := st.CustomerByExternalID(ctx, id); err == nil {
					t.Errorf("bad row %s was stored", id)
				}
			}
		})
	}
}

// checkRejections wants read rows read, inserted stored, and exactly the
// rejections of want (line -> what the reason says).
func checkRejections(t *testing.T, sum imports.Summary, read, inserted int, want map[int]string) {
	t.Helper()
	if sum.Read != read || sum.Inserted != inserted || sum.RejectedCount != len(want) {
		t.Fatalf("summary = %+v; want %d read, %d inserted, %d rejected", sum, read, inserted, len(want))
	}
	for _, r := range sum.Rejected {
		if w, ok := want[r.Line]; !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("rejection %s; want line %d to say %q", r, r.Line, w)
		}
	}
}

// badBytesPurchases has an invalid UTF-8 byte (line 3, order_id), a NUL
// (line 5, currency) and a customer id over 255 bytes (line 7).
var badBytesPurchases = "order_id,customer_id,amount,currency,quantity,occurred_at\n" +
	"o1,c1,10.00,USD,1,2024-05-01\n" +
	"o\xe92,c1,11.00,USD,1,2024-05-02\n" +
	"o3,c2,12.00,USD,1,2024-05-03\n" +
	"o4,c2,13.00,U\x00D,1,2024-05-04\n" +
	"o5,c3,14.00,USD,1,2024-05-05\n" +
	"o6," + strings.Repeat("x", 256) + ",15.00,USD,1,2024-05-06\n" +
	"o7,c3,16.00,USD,1,2024-05-07\n"

func TestImportPurchasesCSVKeepsGoodRowsAroundBadBytes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			sum, err := imports.Purchases(ctx, st, strings.NewReader(badBytesPurchases), imports.Options{BatchSize: 10})
			if err != nil {
				t.Fatalf("import failed as a whole: %v", err)
			}
			checkRejections(t, sum, 7, 4, map[int]string{
				3: "order_id: the value is not valid UTF-8 (byte 0xE9 at byte 2",
				5: "currency: the value contains a NUL byte",
				7: "customer_id: the value is 256 bytes long; the most is 255",
			})
			// The bad cell's column, counted in bytes from 1.
			if r := sum.Rejected[0]; r.Field != "order_id" || r.Column != 1 || sum.Rejected[1].Column != 13 {
				t.Errorf("rejections %+v; want order_id at column 1, then column 13", sum.Rejected)
			}
			for ext, orders := range map[string]int{"c1": 1, "c2": 1, "c3": 2} {
				c, err := st.CustomerByExternalID(ctx, ext)
				if err != nil || c.OrdersCount != orders {
					t.Errorf("customer %s: %+v, %v; want %d orders", ext, c, err, orders)
				}
			}
		})
	}
}

// badBytesCDNOW has an invalid UTF-8 byte in a quantity (line 3), a NUL in a
// customer id (line 5) and a line of 100 kB (line 6), and starts with a line
// that is not the header (its first field is not a number).
var badBytesCDNOW = "0000\x001 19970101 1 10.00\n" +
	"00001 19970102 1 11.00\n" +
	"00002 19970103 \xff 12.00\n" +
	"00002 19970104 1 13.00\n" +
	"0000\x003 19970105 1 14.00\n" +
	strings.Repeat("9", 100<<10) + "\n" +
	"00003 19970106 2 15.00\n"

func TestImportCDNOWKeepsGoodRowsAroundBadBytes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			// A header first, then the bad first line: only the first line may be the header.
			log := "customer_id date quantity dollars\n" + badBytesCDNOW
			sum, err := imports.Purchases(ctx, st, strings.NewReader(log), imports.Options{BatchSize: 10})
			if err != nil {
				t.Fatalf("import failed as a whole: %v", err)
			}
			checkRejections(t, sum, 7, 3, map[int]string{
				2: `customer id "0000\x001" is not a number`,
				4: `quantity "\xff" is not a whole number`,
				6: `customer id "0000\x003" is not a number`,
				7: "the line is longer than 65536 bytes",
			})
			if r := sum.Rejected[1]; r.Field != "quantity" || r.Column != 16 {
				t.Errorf("rejection %+v; want the quantity field at column 16", r)
			}
			for ext, orders := range map[string]int{"00001": 1, "00002": 1, "00003": 1} {
				c, err := st.CustomerByExternalID(ctx, ext)
				if err != nil || c.OrdersCount != orders {
					t.Errorf("customer %s: %+v, %v; want %d orders", ext, c, err, orders)
				}
			}
		})
	}
}

// A row that passes every check but that the database refuses all the same
// is reported at its line, and the rest of its batch is stored.
func TestImportKeepsBatchWhenDatabaseRefusesARow(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			storetest.Refuse(t, st, "customers", "first_name", "refuse_me")
			csv := "external_id,first_name\nc1,Ann\nc2,refuse_me\nc3,Cat\n"
			sum, err := imports.Customers(ctx, st, strings.NewReader(csv), imports.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRejections(t, sum, 3, 2, map[int]string{3: "the database refused the row"})

			storetest.Refuse(t, st, "purchases", "order_id", "refuse_me")
			csv = "order_id,customer_id,amount,occurred_at\no1,c1,1,2024-05-01\nrefuse_me,c1,2,2024-05-02\no3,c3,3,2024-05-03\n"
			sum, err = imports.Purchases(ctx, st, strings.NewReader(csv), imports.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRejections(t, sum, 3, 2, map[int]string{3: "the database refused the row"})
			if c, err := st.CustomerByExternalID(ctx, "c1"); err != nil || c.OrdersCount != 1 {
				t.Fatalf("c1 = %+v, %v; want 1 order", c, err)
			}
		})
	}
}

func TestImportRefusesHeaderThatIsNotUTF8(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	_, err := imports.Customers(context.Background(), st, strings.NewReader("external_id,pr\xe9nom\nc1,Ann\n"), imports.Options{})
	if err == nil || !strings.Contains(err.Error(), "header's column 2: the value is not valid UTF-8") {
		t.Fatalf("err = %v; want the header's bad column named", err)
	}
}
