package rules

import (
	"errors"
	"slices"
	"testing"
)

func TestMisspeltClosedValuesFailAtTheirColumn(t *testing.T) {
	cases := []struct {
		name, src string
		line, col int
		msg       string
		sugg      []string
	}{
		{"lifecycle in list", `lifecycle in ["grwing"]`, 1, 15,
			`unknown lifecycle stage "grwing"; did you mean "growing"?`, []string{"growing"}},
		{"lifecycle not in list, second item", `lifecycle not in ["new", "matur"]`, 1, 26,
			`unknown lifecycle stage "matur"; did you mean "mature"?`, []string{"mature"}},
		{"lifecycle, capitalised", `lifecycle == "Mature"`, 1, 14,
			`unknown lifecycle stage "Mature"; did you mean "mature"?`, []string{"mature"}},
		{"lifecycle, nothing close", `lifecycle != "vip"`, 1, 14,
			`unknown lifecycle stage "vip"; use one of: prospect, new, growing, mature, declining, churned`, nil},
		{"lifecycle, a first-round stage", `lifecycle == "active"`, 1, 14,
			`lifecycle stage "active" no longer exists: stages follow the volume trend now (prospect, new, growing, ` +
				`mature, declining, churned); use "growing" or "mature"`, []string{"growing", "mature"}},
		{"segment equals", `orders_count > 1 && rfm.segment == "champion"`, 1, 36,
			`unknown RFM segment "champion"; did you mean "champions"?`, []string{"champions"}},
		{"segment, literal first", `'at_rsk' == rfm.segment`, 1, 1,
			`unknown RFM segment "at_rsk"; did you mean "at_risk"?`, []string{"at_risk"}},
		{"segment through index and optional chain", `rfm?.["segment"] in ['lost', 'hibernatin']`, 1, 30,
			`unknown RFM segment "hibernatin"; did you mean "hibernating"?`, []string{"hibernating"}},
		{"time zone on second line", "email_consent &&\n  time_zone == \"Europe/Pari\"", 2, 16,
			`unknown time zone "Europe/Pari"; did you mean "Europe/Paris"?`, []string{"Europe/Paris"}},
		{"Local is no zone", `time_zone == "Local"`, 1, 14,
			`unknown time zone "Local"; use an IANA name such as "Europe/Paris" or "America/New_York"`, nil},
		{"unknown locale", `locale == "xx"`, 1, 11,
			`unknown locale "xx": the subtag "xx" is not a known language, script or region; write a tag such as "en", "fr-CA" or "pt-BR"`, nil},
		{"ill-formed locale", `locale in ["fr", "french"]`, 1, 18,
			`unknown locale "french": it is not a BCP 47 language tag; write a tag such as "en", "fr-CA" or "pt-BR"`, nil},
		{"leftmost of several", `lifecycle == "nw" || rfm.segment == "lst"`, 1, 14,
			`unknown lifecycle stage "nw"; did you mean "new"?`, []string{"new"}},
		{"inside a predicate", `any(tags, # == "x" && lifecycle == "churnd")`, 1, 36,
			`unknown lifecycle stage "churnd"; did you mean "churned"?`, []string{"churned"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, want an *Error", c.src, err)
			}
			if e.Line != c.line || e.Column != c.col || e.Message != c.msg || !slices.Equal(e.Suggestions, c.sugg) {
				t.Errorf("Compile(%q) =\n  %d:%d: %s %q\nwant\n  %d:%d: %s %q", c.src,
					e.Line, e.Column, e.Message, e.Suggestions, c.line, c.col, c.msg, c.sugg)
			}
		})
	}
}

func TestValidClosedValuesCompileAndSelectAsBefore(t *testing.T) {
	env := NewEnv(nil)
	env.Lifecycle, env.RFM.Segment, env.TimeZone, env.Locale = "growing", "at_risk", "Europe/Paris", "fr-CA"
	for _, c := range []struct {
		src  string
		want bool
	}{
		{`lifecycle in ["growing", "mature"]`, true},
		{`lifecycle not in ["growing"]`, false},
		{`"growing" == lifecycle && rfm.segment != "champions"`, true},
		{`rfm.segment in ["at_risk", "cannot_lose"]`, true},
		{`time_zone == "Europe/Paris" || time_zone == "UTC"`, true},
		{`time_zone == "America/New_York"`, false},
		{`locale == "fr-CA" && locale != "pt_BR"`, true},
		{`lifecycle == "" || rfm.segment == "" || time_zone == "" || locale == ""`, false},
		{`let stage = "grwing"; lifecycle == stage`, false}, // a variable, not a literal: not checked
		{`email == "activ" && first_name in ["champion"]`, false},
	} {
		p, err := Compile(c.src)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.src, err)
			continue
		}
		if got, err := p.Eval(env); err != nil || got != c.want {
			t.Errorf("Eval(%q) = %v, %v; want %v", c.src, got, err, c.want)
		}
	}
}

func TestSegmentsOptionIsTheConfiguredSegmentMap(t *testing.T) {
	opt := Options{Segments: []string{"vip", "regular"}}
	if _, err := CompileWith(`rfm.segment == "vip"`, opt); err != nil {
		t.Errorf("a segment of the configured map: %v", err)
	}
	_, err := CompileWith(`rfm.segment == "champions"`, opt)
	if err == nil || err.Error() != `1:16: unknown RFM segment "champions"; use one of: vip, regular` {
		t.Errorf("a default segment under a custom map: %v", err)
	}
}
