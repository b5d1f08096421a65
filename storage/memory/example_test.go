package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

func ExampleBackend_Tenant() {
	ctx := context.Background()
	backend := memory.New()
	acme, _ := backend.Tenant("acme")
	globex, _ := backend.Tenant("globex")

	id := itil.NewID()
	acme.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, storage.Record{Kind: "ticket", ID: id, Data: `{"title":"printer"}`})
		return err
	})
	// Each tenant sees only its own records, sequences and journal.
	globex.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Get(ctx, "ticket", id)
		fmt.Println("globex sees acme's ticket:", !errors.Is(err, itil.ErrNotFound))
		n, _ := tx.NextSeq(ctx, "ticket")
		fmt.Println("globex's first ticket number:", itil.FormatNumber("TKT", n))
		return nil
	})
	// Output:
	// globex sees acme's ticket: false
	// globex's first ticket number: TKT0001001
}
