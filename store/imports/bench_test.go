package imports_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/store/storetest"
)

// BenchmarkImportCustomers imports 20,000 new customers with email and SMS
// consent from CSV, on each database: the path that hashes each address to
// check it against the suppression list and records each consent granted.
// 100 of the addresses are suppressed and must come in without consent.
func BenchmarkImportCustomers(b *testing.B) {
	const n = 20000
	var csv strings.Builder
	csv.WriteString("external_id,email,phone,first_name,email_consent,sms_consent\n")
	for i := range n {
		fmt.Fprintf(&csv, "c%d,person%d@example.com,+336%08d,Name%d,true,true\n", i, i, i, i)
	}
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st := storetest.Open(b, d)
				for i := range 100 {
					if err := st.Suppress(context.Background(), "email", fmt.Sprintf("person%d@example.com", i*7), "unsubscribe", 0); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				sum, err := imports.Customers(context.Background(), st, strings.NewReader(csv.String()), imports.Options{})
				if err != nil || sum.Inserted != n {
					b.Fatalf("import: %+v, %v", sum, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
