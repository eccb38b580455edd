package campaigns

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// emptyFunc is an internal template function (see guardDynamic); marketers
// may call only the functions funcMap returns.
const emptyFunc = "_or_empty"

// funcMap returns the allow-listed template functions bound to one locale's
// formats (date and money depend on it).
func funcMap(locale string) map[string]any {
	f := formats[formatKey(locale)]
	tag, err := language.Parse(locale)
	if err != nil {
		tag = language.Und
	}
	printer := message.NewPrinter(tag)
	return map[string]any{
		"default": defaultValue,
		"title":   func(v any) string { return cases.Title(tag).String(toString(v)) },
		"upper":   func(v any) string { return cases.Upper(tag).String(toString(v)) },
		"lower":   func(v any) string { return cases.Lower(tag).String(toString(v)) },
		"trim":    func(v any) string { return strings.TrimSpace(toString(v)) },
		"date": func(v any, style ...string) (string, error) {
			t, err := toTime(v)
			return f.formatDate(t, strings.Join(style, "")), err
		},
		"money": func(v any, currency string) (string, error) {
			n, err := toFloat(v)
			return f.formatMoney(printer, n, currency), err
		},
		stepFunc: stepTemplateFunc,
		emptyFunc: func(v any) any {
			if v == nil {
				return ""
			}
			return v
		},
	}
}

// defaultValue returns v, or def when v is empty (nil, "", a zero time, an
// empty list or map): {{ default "there" .first_name }} or
// {{ .first_name | default "there" }}.
func defaultValue(def, v any) any {
	if isEmpty(v) {
		return def
	}
	return v
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case time.Time:
		return x.IsZero()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return x, nil
	case *time.Time:
		if x == nil {
			return time.Time{}, nil
		}
		return *x, nil
	case string:
		if x == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("date: %v is not a date", v)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("money: %q is not a number", x)
		}
		return f, nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanFloat():
		return rv.Float(), nil
	case rv.CanInt():
		return float64(rv.Int()), nil
	case rv.CanUint():
		return float64(rv.Uint()), nil
	}
	return 0, fmt.Errorf("money: %v is not a number", v)
}
