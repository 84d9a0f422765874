package investigate

// SetSweep makes iv's chains on a resident timeline set out a layer's
// probes always site by site (1), always person by person (-1), or by
// the layer's size (0, the default), so that tests cover both ways.
func SetSweep(iv *Investigator, mode int) { iv.sweep = mode }

// SetScanBest makes iv's chains that keep one edge a person compare
// every probe a presence meets instead of asking a bestIndex.
func SetScanBest(iv *Investigator, on bool) { iv.scanBest = on }
