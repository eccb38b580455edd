package campaigns

import (
	_ "embed"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// usAreaCodesData maps each geographic US area code to its state: one
// "NPA ST" line each. Its header names the source and how to regenerate it.
//
//go:embed us-area-codes.txt
var usAreaCodesData string

// usAreaCodes parses usAreaCodesData once: area code -> "US-ST".
var usAreaCodes = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(usAreaCodesData, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		npa, state, ok := strings.Cut(line, " ")
		if ok {
			out[npa] = "US-" + strings.TrimSpace(state)
		}
	}
	return out
})

// usStates is the set of region codes the area codes lead to.
var usStates = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for _, r := range usAreaCodes() {
		out[r] = true
	}
	return out
})

// PhonePlace returns where a phone number in E.164 form is registered: its
// country, from libphonenumber's numbering plans, and for a US number with
// a geographic area code its state (us-area-codes.txt). The place is the
// number's, not the customer's: a Floridian who moved keeps 305. A number that
// cannot be placed gives the zero Place. Results are cached per number
// prefix, like PhoneLocation's.
func PhonePlace(phone string) Place {
	digits, ok := e164Digits(phone)
	if !ok {
		return Place{}
	}
	key := digits[:min(len(digits), prefixDigits)]
	if v, ok := placeByPrefix.Load(key); ok {
		return v.(Place)
	}
	pl := placeOf(phone, digits)
	if placeEntries.Add(1) <= maxPrefixEntries {
		placeByPrefix.Store(key, pl)
	}
	return pl
}

var (
	placeByPrefix sync.Map // digits prefix -> Place
	placeEntries  atomic.Int64
)

// placeOf places a number: a US area code by the table (whether or not
// libphonenumber deems the rest of the number valid), else the country
// libphonenumber finds, else the main country of its calling code.
func placeOf(phone, digits string) Place {
	if digits[0] == '1' && len(digits) >= 4 {
		if region, ok := usAreaCodes()[digits[1:4]]; ok {
			return Place{Country: "US", Region: region}
		}
	}
	num, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return Place{}
	}
	country := phonenumbers.GetRegionCodeForNumber(num)
	if country == "" {
		country = phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	}
	if len(country) != 2 || country == phonenumbers.UNKNOWN_REGION { // "001": a non-geographic code
		return Place{}
	}
	return Place{Country: country}
}
