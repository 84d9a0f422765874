package node

// Halted returns why the node stopped writing, or nil while it writes: a
// damaged store (any read or write that found corruption halts the store,
// an error wrapping store.ErrCorrupt) or a commit or sync that failed (an
// error wrapping engine.ErrHalted). It stays halted until restarted.
func (n *Node) Halted() error {
	if n.Engine != nil {
		if err := n.Engine.Halted(); err != nil {
			return err
		}
	}
	return n.DB.Halted()
}
