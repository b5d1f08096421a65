package slm_test

import (
	"fmt"
	"time"

	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/shopspring/decimal"
)

func ExampleMeasureAvailability() {
	// The service is agreed Monday to Friday, 09:00–17:00 New York time.
	hours := calendar.MustNew(calendar.Spec{
		Zone: "America/New_York",
		Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0)),
	})
	ny := hours.Location()
	at := func(day, hour int) time.Time { return time.Date(2025, time.June, day, hour, 0, 0, 0, ny) }

	outages := []slm.Outage{
		{Service: "payroll", Start: at(7, 10), End: at(7, 14)},  // Saturday: outside agreed hours
		{Service: "payroll", Start: at(9, 16), End: at(9, 18)},  // Monday 16:00–18:00: 1 h counts
		{Service: "payroll", Start: at(9, 16), End: at(9, 17)},  // reported twice: counted once
		{Service: "billing", Start: at(10, 9), End: at(10, 17)}, // another service
	}
	a, err := slm.MeasureAvailability(hours, "payroll", outages, at(1, 0), time.Date(2025, time.July, 1, 0, 0, 0, 0, ny))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("agreed:", a.Agreed)
	fmt.Println("downtime:", a.Downtime)
	fmt.Printf("availability: %s%%\n", a.Percent)
	fmt.Println("meets 99%:", a.Meets(decimal.NewFromInt(99)))
	fmt.Println("meets 99.5%:", a.Meets(decimal.RequireFromString("99.5")))
	// Output:
	// agreed: 168h0m0s
	// downtime: 1h0m0s
	// availability: 99.404762%
	// meets 99%: true
	// meets 99.5%: false
}

func ExampleCreditPolicy_Credit() {
	// Below 99.9% a credit of 10% of the monthly fee, below 99% 25%.
	policy := slm.CreditPolicy{Tiers: []slm.CreditTier{
		{Below: decimal.RequireFromString("99.9"), Percent: decimal.NewFromInt(10)},
		{Below: decimal.NewFromInt(99), Percent: decimal.NewFromInt(25)},
	}}
	fee, err := slm.NewMoney("1000.00", "EUR")
	if err != nil {
		fmt.Println(err)
		return
	}

	// June 2025, 24×7: 720 h agreed.
	hours := calendar.MustNew(calendar.AlwaysOpen())
	from := time.Date(2025, time.June, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	for _, down := range []time.Duration{
		21*time.Minute + 36*time.Second, // 99.95%
		43*time.Minute + 12*time.Second, // exactly 99.9%: not below it
		3*time.Hour + 36*time.Minute,    // 99.5%
		14*time.Hour + 24*time.Minute,   // 98%
	} {
		a, err := slm.MeasureAvailability(hours, "web",
			[]slm.Outage{{Service: "web", Start: from, End: from.Add(down)}}, from, to)
		if err != nil {
			fmt.Println(err)
			return
		}
		credit, err := policy.Credit(a, fee)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s%% → credit %s\n", a.Percent, credit)
	}
	// Output:
	// 99.95% → credit 0.00 EUR
	// 99.9% → credit 0.00 EUR
	// 99.5% → credit 100.00 EUR
	// 98% → credit 250.00 EUR
}
