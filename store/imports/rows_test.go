package imports_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

const customersCSV = `external_id,email,phone,first_name,time_zone,birthday,email_consent,sms_consent,tags,plan
c1,Ann@Example.com,+33 6 12-34-56-78,Ann,Europe/Paris,1990-02-28,yes,no,vip; fr ;vip,gold
c2,bob@,,Bob,,,,,,
c3,cat@example.com,,Cat,Mars/Olympus,,,,,
c4,dan@example.com,0612,Dan,,,,,,
c5,eve@example.com,,Eve,,31/12/1990,,,,
c6,fay@example.com,,Fay,,,maybe,,,
,nobody@example.com,,,,,,,,
c7,gus@example.com,,Gus,America/New_York,,1,1,,silver
`

func TestImportCustomersReportsBadRows(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			sum, err := imports.Customers(ctx, st, strings.NewReader(customersCSV), imports.Options{BatchSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			wantRejected := map[int]string{
				3: `email "bob@" is not a valid address`,
				4: `time zone "Mars/Olympus" is unknown`,
				5: `phone "0612" is not in international format`,
				6: `birthday "31/12/1990" is not a date; write YYYY-MM-DD`,
				7: `email_consent "maybe" is not a yes/no value`,
				8: `external_id is empty`,
			}
			if sum.Read != 8 || sum.Inserted != 2 || sum.RejectedCount != len(wantRejected) {
				t.Fatalf("summary = %+v; want 8 read, 2 inserted, %d rejected", sum, len(wantRejected))
			}
			for _, r := range sum.Rejected {
				if want, ok := wantRejected[r.Line]; !ok || !strings.Contains(r.Reason, want) {
					t.Errorf("rejection %s; want line %d to say %q", r, r.Line, want)
				}
			}
			c1, err := st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if c1.Email != "ann@example.com" || c1.Phone != "+33612345678" || !c1.EmailConsent || c1.SMSConsent ||
				!c1.Birthday.Equal(time.Date(1990, 2, 28, 0, 0, 0, 0, time.UTC)) ||
				strings.Join(c1.Tags, "|") != "vip|fr" || c1.Attributes["plan"] != "gold" {
				t.Fatalf("c1 = %+v", c1)
			}
			again, err := imports.Customers(ctx, st, strings.NewReader(customersCSV), imports.Options{})
			if err != nil || again.Inserted != 0 || again.Updated != 0 || again.Unchanged != 2 {
				t.Fatalf("re-import = %+v, %v; want 2 unchanged", again, err)
			}
			// A partial file only overwrites the columns it has.
			sum, err = imports.Customers(ctx, st, strings.NewReader("external_id,last_name\nc1,Lee\n"), imports.Options{})
			if err != nil || sum.Updated != 1 {
				t.Fatalf("partial = %+v, %v", sum, err)
			}
			c1, _ = st.CustomerByExternalID(ctx, "c1")
			if c1.LastName != "Lee" || c1.FirstName != "Ann" || c1.Attributes["plan"] != "gold" {
				t.Fatalf("after partial import c1 = %+v", c1)
			}
		})
	}
}

func TestImportCustomersNeedsExternalIDColumn(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	_, err := imports.Customers(context.Background(), st, strings.NewReader("email\na@example.com\n"), imports.Options{})
	if err == nil || !strings.Contains(err.Error(), "no external_id column") {
		t.Fatalf("err = %v, want a missing external_id column error", err)
	}
}

const purchasesCSV = `order_id,customer_id,amount,currency,quantity,occurred_at,items
A-1,c1,19.99,eur,1,2024-05-01T14:30:00+02:00,"[{""sku"":""X"",""quantity"":1,""price"":19.99}]"
A-2,c1,abc,USD,1,2024-05-02,
A-3,c2,5,USD,1,yesterday,
A-4,c2,5.5,US,1,2024-05-02,
A-5,c2,1.234,USD,1,2024-05-02,
A-6,c2,7.5,,two,2024-05-02,
A-7,c2,7.5,,,2024-05-03,{not json}
A-8,c2,-2.5,,,2024-05-04,
`

func TestImportPurchasesCSVReportsBadRows(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, d)
			sum, err := imports.Purchases(ctx, st, strings.NewReader(purchasesCSV), imports.Options{BatchSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			wantRejected := map[int]string{
				3: `amount "abc" is not a number`,
				4: `occurred_at "yesterday" is not a time`,
				5: `currency "US" is not an ISO 4217 code`,
				6: `amount "1.234" has more than two decimals`,
				7: `quantity "two" is not a whole number`,
				8: `items is not a JSON array`,
			}
			if sum.Read != 8 || sum.Inserted != 2 || sum.RejectedCount != len(wantRejected) {
				t.Fatalf("summary = %+v; want 8 read, 2 inserted, %d rejected", sum, len(wantRejected))
			}
			for _, r := range sum.Rejected {
				if want, ok := wantRejected[r.Line]; !ok || !strings.Contains(r.Reason, want) {
					t.Errorf("rejection %s; want line %d to say %q", r, r.Line, want)
				}
			}
			c1, err := st.CustomerByExternalID(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if c1.OrdersCount != 1 || c1.TotalSpentCents != 1999 ||
				!c1.FirstPurchaseAt.Equal(time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)) {
				t.Fatalf("c1 metrics = %d orders, %d cents, first %v", c1.OrdersCount, c1.TotalSpentCents, c1.FirstPurchaseAt)
			}
			c2, _ := st.CustomerByExternalID(ctx, "c2")
			if c2.OrdersCount != 1 || c2.TotalSpentCents != -250 {
				t.Fatalf("c2 metrics = %d orders, %d cents; want the refund of -2.50", c2.OrdersCount, c2.TotalSpentCents)
			}
			again, err := imports.Purchases(ctx, st, strings.NewReader(purchasesCSV), imports.Options{})
			if err != nil || again.Inserted != 0 || again.Updated != 0 || again.Unchanged != 2 {
				t.Fatalf("re-import = %+v, %v; want 2 unchanged", again, err)
			}
		})
	}
}

func TestImportCDNOWRejectsBadLines(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	log := " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 1997013x 1 1.00\n" +
		" 00002 19970112  1   twelve\n\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n"
	sum, err := imports.Purchases(context.Background(), st, strings.NewReader(log), imports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 5 || sum.Inserted != 3 || sum.RejectedCount != 2 ||
		sum.Rejected[0].Line != 3 || !strings.Contains(sum.Rejected[0].Reason, "YYYYMMDD") ||
		sum.Rejected[1].Line != 4 || !strings.Contains(sum.Rejected[1].Reason, `amount "twelve"`) {
		t.Fatalf("summary = %+v", sum)
	}
	c, err := st.CustomerByExternalID(context.Background(), "00002")
	if err != nil || c.OrdersCount != 2 || c.TotalSpentCents != 8900 {
		t.Fatalf("customer 00002 = %+v, %v; want 2 orders of 89.00 in total (two the same day)", c, err)
	}
}

func TestImportKeepsFirstRejections(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	var b strings.Builder
	b.WriteString("external_id,email\n")
	for range imports.MaxRejectionsKept + 10 {
		b.WriteString("x,not-an-email\n")
	}
	sum, err := imports.Customers(context.Background(), st, strings.NewReader(b.String()), imports.Options{})
	if err != nil || sum.RejectedCount != imports.MaxRejectionsKept+10 || len(sum.Rejected) != imports.MaxRejectionsKept {
		t.Fatalf("kept %d of %d rejections (%v); want %d kept", len(sum.Rejected), sum.RejectedCount, err, imports.MaxRejectionsKept)
	}
}
