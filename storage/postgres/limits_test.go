package postgres

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/storage"
)

// TestLimitsLeaveMargin: storage's limits leave room in PostgreSQL's
// widest index row, a term's (tenant, kind, term, sort key, id): with
// every part at its limit and the term longer still by the margin the
// limits' doc states (less a little), the row of random, incompressible
// bytes is indexed; 400 bytes more and PostgreSQL refuses it (SQLSTATE
// 54000), so the row measured is the one that has the limit.
func TestLimitsLeaveMargin(t *testing.T) {
	dsn := freshSchema(t)
	openIn(t, dsn) // migrates the schema
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	r := rand.New(rand.NewPCG(5, 5))
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('!' + r.IntN('~'-'!'+1))
		}
		return string(b)
	}
	insert := func(extra int) error {
		_, err := pool.Exec(t.Context(), `INSERT INTO record_terms (tenant, kind, term, sort_key, id) VALUES ($1, $2, $3, $4, $5)`,
			text(storage.MaxName), text(storage.MaxName), []byte(text(storage.MaxTerm+extra)), []byte(text(storage.MaxSortKey)), uuid.New())
		return err
	}
	require.NoError(t, insert(0))
	require.NoError(t, insert(350), "the margin")
	err = insert(400)
	require.Error(t, err)
	require.Equal(t, "54000", pgCode(err), "%v", err)
}
