package itil

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// ID identifies an entity. IDs are UUID version 7: time-ordered, so records
// created later sort later, which keeps indexes compact.
type ID = uuid.UUID

// NilID is the zero ID; an entity field holding it means "none".
var NilID ID

// NewID returns a new UUID v7.
func NewID() ID {
	return uuid.Must(uuid.NewV7())
}

// ParseID parses the textual form of an ID.
func ParseID(s string) (ID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return NilID, Invalid("id", fmt.Sprintf("%q is not a UUID", s))
	}
	return id, nil
}

// numberBase offsets sequence values so the first number of a kind reads
// INC0001001, as service desks conventionally start.
const numberBase = 1000

// FormatNumber turns the n-th value of a reference sequence (n >= 1) into a
// human reference number: prefix, then seven digits ("INC", 1 -> INC0001001).
// Numbers past 9999999 simply grow longer.
func FormatNumber(prefix string, n int64) string {
	digits := strconv.FormatInt(numberBase+n, 10)
	if len(digits) < 7 {
		digits = "0000000"[len(digits):] + digits
	}
	return prefix + digits
}

// ParseNumber is the inverse of FormatNumber: it returns the sequence value
// of a reference number with the given prefix.
func ParseNumber(prefix, number string) (int64, error) {
	digits, ok := strings.CutPrefix(number, prefix)
	if !ok || len(digits) < 7 {
		return 0, Invalid("number", fmt.Sprintf("%q is not a %s reference number", number, prefix))
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v <= numberBase || FormatNumber(prefix, v-numberBase) != number {
		return 0, Invalid("number", fmt.Sprintf("%q is not a %s reference number", number, prefix))
	}
	return v - numberBase, nil
}
