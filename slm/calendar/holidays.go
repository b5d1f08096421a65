package calendar

import (
	"maps"
	"slices"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/br"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/ch"
	"github.com/rickar/cal/v2/cz"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
)

// countries maps ISO 3166 codes to rickar/cal's national holiday sets.
var countries = map[string][]*cal.Holiday{
	"AT": at.Holidays, "AU-NSW": au.HolidaysNSW, "AU-VIC": au.HolidaysVIC, "BE": be.Holidays, "BR": br.Holidays,
	"CA": ca.Holidays, "CH": ch.Holidays, "CZ": cz.Holidays, "DE": de.Holidays,
	"DK": dk.Holidays, "ES": es.Holidays, "FR": fr.Holidays, "GB": gb.Holidays,
	"IE": ie.Holidays, "IT": it.Holidays, "JP": jp.Holidays, "NL": nl.Holidays,
	"NO": no.Holidays, "NZ": nz.Holidays, "PL": pl.Holidays, "SE": se.Holidays,
	"US": us.Holidays, "ZA": za.Holidays,
}

// Countries lists the codes Spec.Country accepts.
func Countries() []string { return slices.Sorted(maps.Keys(countries)) }

// loadNational computes the national holidays of the years the dates
// [d0, d1) touch, each year once. rickar/cal's Holiday.Calc is pure but its
// Calendar cache is not safe for concurrent use, so only Calc is used, under
// c.mu. A holiday closes its observed date (a Saturday holiday observed on
// the Friday closes the Friday), as rickar/cal's business calendar does.
func (c *Calendar) loadNational(d0, d1 int64) {
	if len(c.national) == 0 {
		return
	}
	// Observed dates may fall in the neighbouring year (1 January on a
	// Saturday is observed on 31 December).
	y0, y1 := dateOfDays(d0).Year-1, dateOfDays(d1).Year+1
	for y := y0; y <= y1; y++ {
		if c.natYears[y] {
			continue
		}
		c.natYears[y] = true
		for _, h := range c.national {
			actual, observed := h.Calc(y)
			if observed.IsZero() {
				observed = actual
			}
			if !observed.IsZero() {
				c.natDates[DateOf(observed)] = true
			}
		}
	}
}

// NationalHolidays returns the national holidays of a country in a year, by
// observed date, with their names.
func NationalHolidays(country string, year int) map[Date]string {
	out := map[Date]string{}
	for _, h := range countries[country] {
		actual, observed := h.Calc(year)
		if observed.IsZero() {
			observed = actual
		}
		if !observed.IsZero() {
			out[DateOf(observed)] = h.Name
		}
	}
	return out
}
