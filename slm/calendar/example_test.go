package calendar_test

import (
	"fmt"
	"time"

	"github.com/itilkit/itil/slm/calendar"
)

func ExampleCalendar_Add() {
	office, err := calendar.New(calendar.Spec{
		Zone: "America/New_York", Country: "US",
		Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0)),
	})
	if err != nil {
		panic(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	opened := time.Date(2026, 11, 13, 16, 30, 0, 0, ny) // a Friday afternoon
	fmt.Println(office.Add(opened, 4*time.Hour).Format(time.DateTime))
	// Thanksgiving (26 November) is closed.
	fmt.Println(office.Add(time.Date(2026, 11, 25, 16, 0, 0, 0, ny), 2*time.Hour).Format(time.DateTime))
	// Output:
	// 2026-11-16 12:30:00
	// 2026-11-27 10:00:00
}

func ExampleCalendar_Between() {
	nights, err := calendar.New(calendar.Spec{
		Zone: "America/New_York",
		Week: calendar.EveryDay(calendar.Hours(0, 0, 3, 0)),
	})
	if err != nil {
		panic(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, d := range []time.Time{
		time.Date(2026, 3, 8, 0, 0, 0, 0, ny),  // spring forward
		time.Date(2026, 11, 1, 0, 0, 0, 0, ny), // fall back
		time.Date(2026, 11, 2, 0, 0, 0, 0, ny),
	} {
		fmt.Println(d.Format(time.DateOnly), nights.Between(d, d.AddDate(0, 0, 1)))
	}
	// Output:
	// 2026-03-08 2h0m0s
	// 2026-11-01 4h0m0s
	// 2026-11-02 3h0m0s
}
