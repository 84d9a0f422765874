package cli

import (
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"
)

func (e *env) consoleCmd() *cobra.Command {
	var nodeURL string
	var open bool
	c := &cobra.Command{
		Use:   "console --node URL --as KEY [--open]",
		Short: "Log in to a node's web console with a role's key",
		Long: `console proves the key --as to the node (it signs a fresh challenge the
node issued) and prints a one-time URL: opened in a browser within two
minutes, it starts a console session with the key's role and nothing
more, for one hour or until you log out. The link works once; run the
command again for another. Open it where the browser reaches the node at
the address --node gives.

The console (served by the node at /) shows a case's trajectory on a time
line and a map, its contacts, its chains of transmission as a graph,
sources, clusters, the follow-up list, and, by role, the audit trail, the
roles and sites, the chain's state, the outbreak intelligence feed (n3,
n2, n1 and the readers: records, digests from below, national
broadcasts, most urgent first) and the hierarchy of chains (its parent,
its children's anchored heads, the national grants it holds), in English
and Chinese. Every view that reads personal data asks for its case and
purpose and is audited as the API is. The map of risk sites
at /#/risk needs no login.`,
		Example: `  epiledger console --node http://127.0.0.1:7070 --as investigator.key
  epiledger console --node http://127.0.0.1:7070 --as auditor.key --open`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{"signs": "--as"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if e.as == "" {
				return withHint(fmt.Errorf("console: --as KEY is required"),
					"the console logs in with a key that holds a role (epiledger role grant); the operator's token cannot open it")
			}
			if nodeURL == "" {
				return fmt.Errorf("console: --node URL is required (the node to log in to)")
			}
			cl, err := e.nodeClient("", nodeURL)
			if err != nil {
				return err
			}
			login, err := cl.ConsoleLogin(e.ctx)
			if err != nil {
				return nodeErr(err, nodeURL)
			}
			fmt.Fprintf(e.stdout, "Open this link in a browser before %s (it works once); the session has the role %s for one hour:\n\n    %s\n\n",
				login.Expires, login.Role, login.URL)
			if open {
				if err := exec.Command("xdg-open", login.URL).Start(); err != nil {
					fmt.Fprintf(e.stderr, "could not open a browser (%v): open the link above yourself\n", err)
				}
			}
			return nil
		},
	}
	nodeFlag(c, &nodeURL)
	c.Flags().BoolVar(&open, "open", false, "open the link in the desktop's browser (xdg-open)")
	return c
}
