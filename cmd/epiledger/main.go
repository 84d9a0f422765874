// Command epiledger is the one binary of the epidemic-response ledger: it
// initialises node homes, runs nodes, imports records, traces cases and
// verifies stores. Run "epiledger --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/epiledger/epiledger/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
