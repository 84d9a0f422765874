# ears.R runs the reference implementation of EARS C1, C2 and C3,
# surveillance::earsC, on real data sets shipped with the R package
# surveillance and prints every time point as CSV on standard output:
#
#   dataset,method,baseline,alpha,minsigma,index,observed,upperbound,alarm
#
# index is 1-based, as in R. Every time point of a series is printed for
# every method and parameter set, so that the observed column carries the
# whole series (the Go test, reference_test.go, rebuilds it from there and
# no data file of the package is copied); upperbound and alarm are empty
# before the first point earsC monitors. upperbound is printed with 17
# significant digits (NaN where earsC gives NaN), alarm as TRUE, FALSE or
# NA. alpha is "default" where the control list leaves it out (earsC then
# uses 0.001 for C1 and C2 and 0.025 for C3).
#
# Exits with status 3 when the package surveillance is not installed
# (Debian: apt-get install r-cran-surveillance).

if (!suppressWarnings(suppressPackageStartupMessages(
  requireNamespace("surveillance", quietly = TRUE)))) {
  message("ears.R: the R package surveillance is not installed (apt-get install r-cran-surveillance)")
  quit(status = 3)
}
suppressPackageStartupMessages(library(surveillance))

# The series: one column each, counts per week.
data("ha.sts", package = "surveillance")
data("salmonella.agona", package = "surveillance")
data("measlesDE", package = "surveillance")
series <- list(
  # Hepatitis A in Berlin 2001-2006, the 12 districts summed.
  ha = aggregate(ha.sts, by = "unit"),
  # Salmonella Agona in the UK 1990-1995.
  salmonella.agona = disProg2sts(salmonella.agona),
  # Measles in Germany 2005-2007, the 16 states summed.
  measlesDE = aggregate(measlesDE, by = "unit")
)

# The parameter sets: earsC's defaults, and two others (a longer baseline
# with a lower threshold and a minimum sigma; the shortest baseline with
# the highest alpha and no minimum sigma).
params <- list(
  list(baseline = 7, alpha = NULL, minSigma = 0),
  list(baseline = 10, alpha = 0.01, minSigma = 0.5),
  list(baseline = 3, alpha = 0.05, minSigma = 0)
)

cat("dataset,method,baseline,alpha,minsigma,index,observed,upperbound,alarm\n")
for (name in names(series)) {
  s <- series[[name]]
  if (ncol(s) != 1) stop(name, ": expected one series, got ", ncol(s))
  y <- as.vector(observed(s))
  n <- length(y)
  for (p in params) {
    for (method in c("C1", "C2", "C3")) {
      control <- list(method = method, baseline = p$baseline, minSigma = p$minSigma)
      if (!is.null(p$alpha)) control$alpha <- p$alpha
      r <- earsC(s, control = control)
      # The default range runs to the last point: r holds its tail.
      first <- n - nrow(r) + 1
      ub <- rep("", n)
      alarm <- rep("", n)
      ub[first:n] <- sprintf("%.17g", as.vector(upperbound(r)))
      a <- as.vector(alarms(r))
      alarm[first:n] <- ifelse(is.na(a), "NA", ifelse(a, "TRUE", "FALSE"))
      alpha <- if (is.null(p$alpha)) "default" else format(p$alpha)
      cat(sprintf("%s,%s,%d,%s,%s,%d,%d,%s,%s\n", name, method, as.integer(p$baseline),
                  alpha, format(p$minSigma), seq_len(n), as.integer(y), ub, alarm), sep = "")
    }
  }
}
