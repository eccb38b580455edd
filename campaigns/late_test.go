package campaigns

import (
	"testing"
	"time"
)

// TestLatePolicyDeadlines checks when a message planned at a local time
// stops being sendable: an expire policy ends with the planned day in the
// customer's zone (plus its grace), also on a DST day; a send policy ends
// its deadline after the planned time, or never without one.
func TestLatePolicyDeadlines(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	kiri, err := time.LoadLocation("Pacific/Kiritimati")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		late    Late
		planned time.Time
		loc     *time.Location
		want    time.Time // zero: no limit
	}{
		{"birthday default: end of the local day", DefaultLate(TriggerBirthday),
			time.Date(2026, 3, 5, 10, 0, 0, 0, ny), ny, time.Date(2026, 3, 6, 0, 0, 0, 0, ny)},
		{"expire in UTC+14", Late{Policy: LateExpire},
			time.Date(2026, 3, 5, 9, 0, 0, 0, kiri), kiri, time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)},
		{"expire with a 2h grace", Late{Policy: LateExpire, Deadline: 2 * time.Hour},
			time.Date(2026, 3, 5, 22, 30, 0, 0, ny), ny, time.Date(2026, 3, 6, 2, 0, 0, 0, ny)},
		{"expire on the spring-forward day (23h long)", Late{Policy: LateExpire},
			time.Date(2026, 3, 8, 1, 0, 0, 0, ny), ny, time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC)},
		{"schedule default: a day late", DefaultLate(TriggerSchedule),
			time.Date(2026, 3, 5, 10, 0, 0, 0, ny), ny, time.Date(2026, 3, 6, 10, 0, 0, 0, ny)},
		{"event default: a day late", DefaultLate(TriggerEvent),
			time.Date(2026, 3, 5, 23, 0, 0, 0, time.UTC), ny, time.Date(2026, 3, 6, 23, 0, 0, 0, time.UTC)},
		{"send with a 6h deadline", Late{Policy: LateSend, Deadline: 6 * time.Hour},
			time.Date(2026, 3, 5, 22, 0, 0, 0, ny), ny, time.Date(2026, 3, 6, 4, 0, 0, 0, ny)},
		{"send without limit", Late{Policy: LateSend}, time.Date(2026, 3, 5, 22, 0, 0, 0, ny), ny, time.Time{}},
	}
	for _, tc := range cases {
		got := tc.late.ExpiresAt(tc.planned, tc.loc)
		if !got.Equal(tc.want) {
			t.Errorf("%s: expires %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, kind := range []TriggerKind{TriggerInactivity, TriggerChurnRisk, TriggerSchedule, TriggerEvent} {
		if l := DefaultLate(kind); l.Policy != LateSend || l.Deadline != DefaultLateDeadline {
			t.Errorf("default late policy of %s: %+v", kind, l)
		}
	}
}
