package campaigns

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// localeFormat is how one locale writes dates and amounts. The table is small
// on purpose: the languages our users write in, with English as the fallback.
type localeFormat struct {
	months      [12]string
	long        func(day int, month string) string // "2 March"
	yearSep     string                             // between long date and year
	short       string                             // Go layout for "short"
	decimal     string
	group       string
	symbolAfter bool   // "12,50 €" rather than "€12.50"
	symbolSep   string // between a leading symbol and the number ("€ 12,50")
}

var (
	enMonths = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayFirst = func(d int, m string) string { return fmt.Sprintf("%d %s", d, m) }
)

// formats is keyed by language or language-REGION (lower case).
var formats = map[string]*localeFormat{
	"en": {months: enMonths, long: func(d int, m string) string { return fmt.Sprintf("%s %d", m, d) },
		yearSep: ", ", short: "01/02/2006", decimal: ".", group: ","},
	"en-gb": {months: enMonths, long: dayFirst, yearSep: " ", short: "02/01/2006", decimal: ".", group: ","},
	"fr": {months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		long: dayFirst, yearSep: " ", short: "02/01/2006", decimal: ",", group: " ", symbolAfter: true},
	"de": {months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		long: func(d int, m string) string { return fmt.Sprintf("%d. %s", d, m) }, yearSep: " ", short: "02.01.2006", decimal: ",", group: ".", symbolAfter: true},
	"es": {months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		long: func(d int, m string) string { return fmt.Sprintf("%d de %s", d, m) }, yearSep: " de ", short: "02/01/2006", decimal: ",", group: ".", symbolAfter: true},
	"nl": {months: [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		long: dayFirst, yearSep: " ", short: "02-01-2006", decimal: ",", group: ".", symbolSep: " "},
	"it": {months: [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		long: dayFirst, yearSep: " ", short: "02/01/2006", decimal: ",", group: ".", symbolAfter: true},
}

// dayFirstEnglish are English regions that write "2 March".
var dayFirstEnglish = map[string]bool{"en-gb": true, "en-ie": true, "en-au": true, "en-nz": true, "en-in": true, "en-za": true}

// formatKey maps a customer locale ("fr-CA", "en_GB") to a formats key.
func formatKey(locale string) string {
	l := normLocale(locale)
	if dayFirstEnglish[l] {
		return "en-gb"
	}
	if _, ok := formats[l]; ok {
		return l
	}
	if lang, _, _ := strings.Cut(l, "-"); formats[lang] != nil {
		return lang
	}
	return "en"
}

// normLocale lower-cases a locale and uses '-' as the separator.
func normLocale(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
}

// formatDate writes t in style "long" (2 March), "full" (2 March 2026),
// "short" (02/03/2026), "iso" (2026-03-02), or a Go layout.
func (f *localeFormat) formatDate(t time.Time, style string) string {
	if t.IsZero() {
		return ""
	}
	switch style {
	case "long", "":
		return f.long(t.Day(), f.months[t.Month()-1])
	case "full":
		return f.long(t.Day(), f.months[t.Month()-1]) + f.yearSep + strconv.Itoa(t.Year())
	case "short":
		return t.Format(f.short)
	case "iso":
		return t.Format("2006-01-02")
	}
	return t.Format(style)
}

// currencies holds symbols and minor digits; other codes print as "SEK 12.50".
var currencies = map[string]struct {
	symbol string
	digits int
}{
	"EUR": {"€", 2}, "USD": {"$", 2}, "GBP": {"£", 2}, "JPY": {"¥", 0},
	"CHF": {"CHF ", 2}, "CAD": {"CA$", 2}, "AUD": {"A$", 2},
}

// formatMoney writes amount in currency the locale's way: "€1,234.50" (en),
// "1 234,50 €" (fr), "1.234,50 €" (de). Plain spaces keep SMS in GSM-7.
func (f *localeFormat) formatMoney(amount float64, currency string) string {
	code := strings.ToUpper(strings.TrimSpace(currency))
	cur, ok := currencies[code]
	if !ok {
		cur.symbol, cur.digits = code+" ", 2
	}
	neg := amount < 0
	s := strconv.FormatFloat(math.Abs(amount), 'f', cur.digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	num := groupThousands(intPart, f.group)
	if frac != "" {
		num += f.decimal + frac
	}
	if neg {
		num = "-" + num
	}
	if f.symbolAfter {
		return num + " " + strings.TrimSpace(cur.symbol)
	}
	return cur.symbol + f.symbolSep + num
}

// groupThousands inserts sep every three digits from the right.
func groupThousands(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
