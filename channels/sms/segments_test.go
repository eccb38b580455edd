package sms_test

import (
	"strings"
	"testing"

	"github.com/tidings-crm/tidings/channels/sms"
)

func TestSegments(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		enc   string
		count int
	}{
		{"empty", "", sms.EncodingGSM7, 0},
		{"short ascii", "Happy birthday Ann! 10% off: BDAY10", sms.EncodingGSM7, 1},
		{"gsm accents", "Grüße aus Köln, señor! à bientôt? £5 ¥", sms.EncodingUCS2, 1}, // ß/ü ok, ô is not GSM-7
		{"gsm only accents", "Ärger? Öl! Niño. Straße", sms.EncodingGSM7, 1},
		{"160 gsm", strings.Repeat("a", 160), sms.EncodingGSM7, 1},
		{"161 gsm", strings.Repeat("a", 161), sms.EncodingGSM7, 2},
		{"306 gsm", strings.Repeat("a", 306), sms.EncodingGSM7, 2},
		{"307 gsm", strings.Repeat("a", 307), sms.EncodingGSM7, 3},
		{"euro counts double", strings.Repeat("€", 80), sms.EncodingGSM7, 1},
		{"euro 81 = 162 septets", strings.Repeat("€", 81), sms.EncodingGSM7, 2},
		{"bracket", strings.Repeat("a", 159) + "[", sms.EncodingGSM7, 2},
		{"caret at 159", strings.Repeat("a", 158) + "^", sms.EncodingGSM7, 1},
		// An extension char at septets 153-154 cannot be split: it opens the next segment.
		{"ext not split", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10), sms.EncodingGSM7, 2},
		{"ext split boundary", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 152), sms.EncodingGSM7, 3},
		{"emoji", "Happy birthday 🎂", sms.EncodingUCS2, 1},
		{"chinese 70", strings.Repeat("生", 70), sms.EncodingUCS2, 1},
		{"chinese 71", strings.Repeat("生", 71), sms.EncodingUCS2, 2},
		{"chinese 134", strings.Repeat("生", 134), sms.EncodingUCS2, 2},
		{"chinese 135", strings.Repeat("生", 135), sms.EncodingUCS2, 3},
		{"emoji 35 = 70 units", strings.Repeat("😀", 35), sms.EncodingUCS2, 1},
		// 134 units would fit in 2x67, but the pair at units 67-68 moves to segment 2.
		{"surrogate not split", strings.Repeat("a", 66) + "😀" + strings.Repeat("a", 66), sms.EncodingUCS2, 3},
		{"one non-gsm char switches all", strings.Repeat("a", 100) + "ł", sms.EncodingUCS2, 2},
	}
	for _, c := range cases {
		enc, n := sms.Segments(c.text)
		if enc != c.enc || n != c.count {
			t.Errorf("%s: Segments = %s/%d, want %s/%d", c.name, enc, n, c.enc, c.count)
		}
	}
}
