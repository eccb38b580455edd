package campaigns

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// localeFormat is how one locale writes dates and amounts. The table is small
// on purpose: the languages our users write in, with English as the fallback.
type localeFormat struct {
	months      [12]string
	long        func(day int, month string) string // "2 March"
	yearSep     string                             // between long date and year
	short       string                             // Go layout for "short"
	symbolAfter bool                               // "12,50 €" rather than "€12.50"
	symbolSep   string                             // between a leading symbol and the number ("€ 12,50")
}

var (
	enMonths = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayFirst = func(d int, m string) string { return fmt.Sprintf("%d %s", d, m) }
)

// formats is keyed by language or language-REGION (lower case).
var formats = map[string]*localeFormat{
	"en": {months: enMonths, long: func(d int, m string) string { return fmt.Sprintf("%s %d", m, d) },
		yearSep: ", ", short: "01/02/2006"},
	"en-gb": {months: enMonths, long: dayFirst, yearSep: " ", short: "02/01/2006"},
	"fr": {months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		long: dayFirst, yearSep: " ", short: "02/01/2006", symbolAfter: true},
	"de": {months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		long: func(d int, m string) string { return fmt.Sprintf("%d. %s", d, m) }, yearSep: " ", short: "02.01.2006", symbolAfter: true},
	"es": {months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		long: func(d int, m string) string { return fmt.Sprintf("%d de %s", d, m) }, yearSep: " de ", short: "02/01/2006", symbolAfter: true},
	"nl": {months: [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		long: dayFirst, yearSep: " ", short: "02-01-2006", symbolSep: " "},
	"it": {months: [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		long: dayFirst, yearSep: " ", short: "02/01/2006", symbolAfter: true},
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

// formatMoney writes amount in currency the customer's way. golang.org/x/text
// gives what CLDR knows per locale: the currency's symbol ("€", "US$" in
// en-GB, "JPY" in Italian), its minor digits and the number's separators
// ("1,234.50", "1 234,50", "1.234,50"). It has no currency patterns, so
// where the symbol goes comes from the language's table: "€1,234.50" (en),
// "1 234,50 €" (fr), "€ 12,50" (nl). An unknown code prints as "XYZ 12.50".
// No-break spaces become plain ones: SMS stay in GSM-7.
func (f *localeFormat) formatMoney(p *message.Printer, amount float64, code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	symbol, digits := code, 2
	if unit, err := currency.ParseISO(code); err == nil {
		symbol = strings.TrimSpace(p.Sprint(currency.Symbol(unit)))
		digits, _ = currency.Standard.Rounding(unit)
	}
	num := spaces.Replace(p.Sprint(number.Decimal(amount, number.Scale(digits))))
	if f.symbolAfter {
		return num + " " + symbol
	}
	sep := f.symbolSep
	if r, _ := utf8.DecodeLastRuneInString(symbol); unicode.IsLetter(r) {
		sep = " " // "CHF 12.50", as CLDR spaces a symbol that ends in a letter
	}
	return symbol + sep + num
}

// spaces turns CLDR's no-break spaces into plain ones.
var spaces = strings.NewReplacer("\u00a0", " ", "\u202f", " ")
