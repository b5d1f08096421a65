package lifecycle

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/itilkit/itil"
)

// TestPeriodsFollowTheCalendar: each period starts at midnight of its
// calendar day (or month), even where a zone skips a midnight: the day
// Santiago moves its clocks forward at 00:00 starts at 01:00, and the
// next starts at midnight again.
func TestPeriodsFollowTheCalendar(t *testing.T) {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no tz data:", err)
	}
	from := time.Date(2026, 8, 20, 0, 0, 0, 0, loc)
	q := KPIQuery{From: from, To: from.AddDate(0, 1, 0), Every: Daily, Zone: "America/Santiago"}
	bounds, err := q.periods()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bounds {
		l := b.In(loc)
		if want := time.Date(2026, 8, 20+i, 12, 0, 0, 0, loc); l.YearDay() != want.YearDay() {
			t.Fatalf("period %d starts %s, on another day than %s", i, l, want)
		}
		if h := l.Hour(); h != 0 && h != 1 {
			t.Fatalf("period %d starts at %s", i, l)
		}
	}
	q = KPIQuery{From: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Every: Monthly,
		Zone: "America/New_York"}
	if bounds, err = q.periods(); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	for i, b := range bounds {
		if l := b.In(ny); l.Day() != 1 || l.Hour() != 0 || int(l.Month()) != (i%12)+1 {
			t.Fatalf("month %d starts %s", i, l)
		}
	}
	for _, bad := range []KPIQuery{{From: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Every: Daily},
		{From: from, To: from.AddDate(1, 0, 0), Every: Daily, Zone: "Local"}} {
		if _, err := bad.periods(); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

// TestPeriodsWhereMidnightIsOddOrSkipped: a day whose midnight comes
// twice (Amman set its clocks back from 01:00 to 00:00 on 29 October
// 2021) starts at the first, and runs 25 hours; a day a zone skipped
// whole (Apia went from 29 to 31 December 2011) is no period. A sweep of
// every day from 1995 to 2030 of zones known for odd midnights: each day
// starts on its date, at or after its local midnight, and an instant
// earlier is the day before.
func TestPeriodsWhereMidnightIsOddOrSkipped(t *testing.T) {
	amman, err := time.LoadLocation("Asia/Amman")
	if err != nil {
		t.Skip("no tz data:", err)
	}
	from := time.Date(2021, 10, 28, 12, 0, 0, 0, amman)
	q := KPIQuery{From: from, To: from.AddDate(0, 0, 3), Every: Daily, Zone: "Asia/Amman"}
	bounds, err := q.periods()
	if err != nil {
		t.Fatal(err)
	}
	if got := bounds[2].Sub(bounds[1]); got != 25*time.Hour {
		t.Fatalf("29 October 2021 in Amman runs %s from %s", got, bounds[1])
	}
	apia, _ := time.LoadLocation("Pacific/Apia")
	from = time.Date(2011, 12, 29, 12, 0, 0, 0, apia)
	q = KPIQuery{From: from, To: from.AddDate(0, 0, 3), Every: Daily, Zone: "Pacific/Apia"}
	if bounds, err = q.periods(); err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, b := range bounds {
		days = append(days, b.In(apia).Format("Jan 2 15:04"))
	}
	if want := []string{"Dec 29 00:00", "Dec 31 00:00", "Jan 1 00:00", "Jan 2 00:00"}; !slices.Equal(days, want) {
		t.Fatalf("Apia's days: %v, want %v", days, want)
	}
	for _, zone := range []string{"Asia/Amman", "Asia/Gaza", "Asia/Jerusalem", "America/Santiago", "America/Havana", "Asia/Tehran",
		"Pacific/Apia", "Australia/Lord_Howe", "Antarctica/Troll", "Europe/Lisbon", "America/Sao_Paulo", "Asia/Beirut"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			continue
		}
		for d := time.Date(1995, 1, 1, 12, 0, 0, 0, loc); d.Year() < 2031; d = d.AddDate(0, 0, 1) {
			s := dayStart(d.Year(), d.Month(), d.Day(), loc)
			if l := s.In(loc); l.YearDay() != d.YearDay() || l.Hour() > 2 {
				t.Fatalf("%s %s starts at %s", zone, d.Format(time.DateOnly), l)
			}
			if p := s.Add(-time.Minute).In(loc); p.YearDay() == d.YearDay() {
				t.Fatalf("%s %s starts at %s, but %s is on it too", zone, d.Format(time.DateOnly), s.In(loc), p)
			}
		}
	}
}

// TestKPIQuerySize: a breakdown whose periods times keys would take too
// much memory is refused, naming "by".
func TestKPIQuerySize(t *testing.T) {
	k := newKPIFacts(nil)
	for range 3000 {
		k.dimsOf(itil.NewID(), "", 0)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := KPIQuery{From: from, To: from.AddDate(0, 0, 1000), Every: Daily, By: ByService}
	bounds, err := q.periods()
	if err != nil {
		t.Fatal(err)
	}
	var v *itil.ValidationError
	if err := k.checkSize(&q, bounds); !errors.As(err, &v) || v.Fields[0].Field != "by" {
		t.Fatalf("3000 services × 1000 days: %v", err)
	}
	q.By = ByGroup
	if err := k.checkSize(&q, bounds); err != nil {
		t.Fatalf("no groups × 1000 days: %v", err)
	}
}
