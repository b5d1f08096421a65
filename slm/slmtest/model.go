package slmtest

import "testing"

func model(t *testing.T, newStore NewStore) {}
