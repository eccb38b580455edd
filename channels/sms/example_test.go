package sms_test

import (
	"fmt"

	"github.com/tidings-crm/tidings/channels/sms"
)

func ExampleSegments() {
	for _, text := range []string{
		"Happy birthday! Here is 10% off: BDAY10",
		"Your voucher: €10 [code XMAS]",
		"Happy birthday 🎂",
	} {
		enc, n := sms.Segments(text)
		fmt.Println(enc, n)
	}
	// Output:
	// GSM-7 1
	// GSM-7 1
	// UCS-2 1
}
