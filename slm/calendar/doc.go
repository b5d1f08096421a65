// Package calendar is business time: weekly open windows in an IANA zone,
// holidays (listed, or a national set), partial closures and extra working
// days, and the arithmetic SLA clocks need on them.
//
//	c, _ := calendar.New(calendar.Spec{
//		Zone: "America/New_York", Country: "US",
//		Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0)),
//	})
//	due := c.Add(opened, 4*time.Hour)   // when 4 business hours have elapsed
//	used := c.Between(opened, resolved) // business time between two instants
//
// Windows are resolved date by date in the calendar's zone, so DST nights
// are exact: a 00:00–03:00 window lasts 2 hours on the spring-forward night
// and 4 on the fall-back night in America/New_York. Open time is computed
// once as sorted UTC intervals with prefix sums, so IsOpen, Add and Between
// are each a binary search, without allocation, at any distance.
//
// The relations between the operations hold exactly, to the nanosecond:
//
//	Between(t, Add(t, d)) == d           for d >= 0
//	Add(Add(t, a), b) == Add(t, a+b)     for a, b >= 0
//	Between(a, b) + Between(b, c) == Between(a, c)
//	Between(a, b) == -Between(b, a)
package calendar
