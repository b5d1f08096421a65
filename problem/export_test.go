package problem

// WatchDetector lets benchmarks fill a watch's detector with a year of
// history without opening a year of incidents.
func WatchDetector(w *TrendWatch) *TrendDetector { return w.det }
