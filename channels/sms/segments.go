package sms

import "unicode/utf16"

// Encodings reported by Segments.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// gsm7Basic is the GSM 03.38 default alphabet (each character one septet).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Ext is the GSM 03.38 extension table (escape + character: two septets).
const gsm7Ext = "\f^{}\\[~]|€"

var gsm7Size = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Ext {
		m[r] = 2
	}
	return m
}()

// Segments returns the encoding a carrier will use for text and how many
// SMS segments it takes. Text made only of GSM-7 characters is sent as GSM-7:
// up to 160 septets in one segment, otherwise 153 per segment of a
// concatenated message, extension-table characters (€ [ ] { } ^ ~ | \ and form
// feed) counting two septets and never split across segments. Any other
// character forces UCS-2: up to 70 UTF-16 units in one segment, otherwise 67
// per segment, never splitting a surrogate pair (an emoji). Empty text is 0
// segments.
func Segments(text string) (encoding string, count int) {
	if text == "" {
		return EncodingGSM7, 0
	}
	sizes := make([]int, 0, len(text))
	gsm := true
	for _, r := range text {
		n, ok := gsm7Size[r]
		if !ok {
			gsm = false
			break
		}
		sizes = append(sizes, n)
	}
	if gsm {
		return EncodingGSM7, pack(sizes, 160, 153)
	}
	sizes = sizes[:0]
	for _, r := range text {
		sizes = append(sizes, utf16.RuneLen(r))
	}
	return EncodingUCS2, pack(sizes, 70, 67)
}

// pack counts segments: one if everything fits in single units, otherwise
// greedy packing into multi-unit segments without splitting a character.
func pack(sizes []int, single, multi int) int {
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total <= single {
		return 1
	}
	count, used := 1, 0
	for _, n := range sizes {
		if used+n > multi {
			count++
			used = 0
		}
		used += n
	}
	return count
}
