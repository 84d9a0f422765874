package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/backup"
)

func (e *env) backupCmd() *cobra.Command {
	var dir, nodeURL, out string
	c := &cobra.Command{
		Use:   "backup --node URL --out DIR [--home DIR | --as KEY]",
		Short: "Copy a running node's store, consistent as of one block, into a new directory",
		Long: `backup asks a running node for a copy of its store (POST /v1/backup, the
administrator's: the chain authority's home, or --as the administrator's
key) and writes it into --out, a new directory: MANIFEST.json (the chain,
its genesis hash, the block the copy ends at) and data/, the store's files.
The node takes the copy while it runs (a Pebble checkpoint: consistent as
of one block, writes go on), after it has committed the copy's audit
record (route "backup", the whole ledger; --case and --purpose, by default
"backup" and "backup of the node's store").

The copy holds what the store holds: every record, the indexes, and the
vault's contact details sealed with the chain's secret (not in the copy:
back up the home's keys/ apart, and keep both as you keep the home). A
consortium validator is not backed up this way: its store goes with
CometBFT's block store at the same height, and a validator rebuilt from
its keys catches up from its peers.

Restore it into a home with "epiledger restore", then "epiledger verify".`,
		Example: `  epiledger backup --home ./node --node http://127.0.0.1:7070 --out /backups/node-2020-01-21
  epiledger restore --home ./node-restored --from /backups/node-2020-01-21
  epiledger verify --home ./node-restored`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.nodeClient(dir, nodeURL)
			if err != nil {
				return err
			}
			// The copy is a read of every record: its audit record names
			// a case and a purpose, by default these.
			if cl.Case == "" {
				cl.Case = "backup"
			}
			if cl.Purpose == "" {
				cl.Purpose = "backup of the node's store"
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			body, err := cl.Backup(e.ctx)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			defer body.Close()
			man, err := backup.Extract(body, out)
			if err != nil {
				return withHint(err, "remove %s and run the backup again", out)
			}
			fmt.Fprintf(e.stdout, "backup of %s at block %d (%s): %d files, %.1f MiB in %s\n",
				man.ChainID, man.Height, man.Head[:16], man.Files, float64(man.Bytes)/(1<<20), out)
			return nil
		},
	}
	homeFlag(c, &dir)
	nodeFlag(c, &nodeURL)
	c.Flags().StringVar(&out, "out", "", "a new (or empty) directory to write the backup into (required)")
	c.MarkFlagRequired("out")
	return c
}

func (e *env) restoreCmd() *cobra.Command {
	var dir, from string
	c := &cobra.Command{
		Use:   "restore --home DIR --from BACKUP",
		Short: "Put a backup's store into a home that has none, then verify it",
		Long: `restore copies the store of a backup ("epiledger backup") into the home
--home, which must be of the same chain (its genesis.json, the same genesis
hash) and hold no store: a home rebuilt from its keys, config and genesis,
with no data/ (or an empty one). It checks that the store ends at the
block the backup's manifest names, records that block as the last one the
node acknowledged (going back to the backup is deliberate: the blocks
committed after it are not in it), and re-checks the whole chain as
"epiledger verify" does.`,
		Example: `  epiledger restore --home ./node-restored --from /backups/node-2020-01-21`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := loadHome(dir)
			if err != nil {
				return err
			}
			man, err := backup.Restore(from, h)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "restored %s at block %d (%s) into %s\n", man.ChainID, man.Height, man.Head[:16], h.DataDir())
			v, err := e.verifyStore(h, false)
			if err != nil {
				return err
			}
			return e.printVerify(v, false)
		},
	}
	homeFlag(c, &dir)
	c.Flags().StringVar(&from, "from", "", "the backup's directory (required)")
	c.MarkFlagRequired("from")
	return c
}
