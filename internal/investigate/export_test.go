package investigate

// SetSweep makes iv's chains on a resident timeline read a layer's
// persons always site by site (1), always person by person (-1), or by
// their number (0, the default), so that tests cover both ways.
func SetSweep(iv *Investigator, mode int) { iv.sweep = mode }
