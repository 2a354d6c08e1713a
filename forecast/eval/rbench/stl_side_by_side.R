# Rolling-origin STL+ETS (stlf) and STL+ARIMA on series regularised by
# `allot forecast eval --dump DIR`, with the same origins (every stride-th
# after the first half), horizon 12 and MASE scaling (the first half's
# one-day seasonal naive error) as `allot forecast eval --stride S`.
# Usage: Rscript stl_side_by_side.R DIR STRIDE [OUT.csv]
# Coverage as in the eval: cov90 = share of actuals <= p90 (one-sided, ties
# covered), cov90_strict = share < p90 and cov90_ties = share <= p90, both up
# to rounding (a tie: relative difference <= 1e-9, as in the eval); p90 is
# "calibrated" (ties-aware) when [cov90_strict, cov90_ties] meets [0.85, 0.95]. Origins where a fit fails are
# skipped and counted in `failed` (a constant history, e.g. all zeros, does
# not fail: stlf forecasts the constant with a zero-width interval).
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; stride <- as.integer(args[2]); h <- 12; m <- 288; win <- 2016
out_csv <- if (length(args) >= 3) args[3] else "stl_side_by_side.csv"
files <- sort(list.files(dir, pattern = "\\.csv$", full.names = TRUE))
out <- data.frame()
for (f in files) {
  y <- read.csv(f)$y; n <- length(y); warm <- n %/% 2
  ins <- y[1:warm]; scale <- mean(abs(ins[(m + 1):warm] - ins[1:(warm - m)]))
  if (!is.finite(scale) || scale == 0) scale <- mean(abs(ins)); if (scale == 0) scale <- 1
  for (meth in c("ets", "arima")) {
    mases <- c(); b90 <- 0; s90 <- 0; u90 <- 0; nn <- 0; failed <- 0; t0 <- Sys.time()
    for (t in seq(warm, n - 1, by = stride)) {   # t = observations seen (1-based last index)
      hist <- y[max(1, t - win + 1):t]
      a <- y[(t + 1):min(t + h, n)]
      fc <- tryCatch(stlf(ts(hist, frequency = m), h = h, method = meth, level = 80),
                     error = function(e) NULL)
      if (is.null(fc)) { failed <- failed + 1; next }
      p <- as.numeric(fc$mean)[seq_along(a)]
      up <- as.numeric(fc$upper[, 1])[seq_along(a)]   # 80% two-sided upper = one-sided p90
      mases <- c(mases, mean(abs(a - p)) / scale)
      tie <- abs(a - up) <= 1e-9 * pmax(abs(a), abs(up))
      b90 <- b90 + sum(a <= up); s90 <- s90 + sum(a < up & !tie); u90 <- u90 + sum(a <= up | tie)
      nn <- nn + length(a)
    }
    out <- rbind(out, data.frame(series = basename(f), method = meth, mase = mean(mases),
                                 cov90 = b90 / nn, cov90_strict = s90 / nn, cov90_ties = u90 / nn,
                                 origins = length(mases), failed = failed,
                                 sec = as.numeric(difftime(Sys.time(), t0, units = "secs"))))
    cat(basename(f), meth, mean(mases), b90 / nn, s90 / nn, u90 / nn, length(mases), failed, "\n")
  }
}
write.csv(out, out_csv, row.names = FALSE)
for (meth in c("ets", "arima")) {
  x <- out[out$method == meth, ]
  cat(meth, "median MASE", median(x$mase, na.rm = TRUE),
      "cov90 in band", sum(x$cov90 >= 0.85 & x$cov90 <= 0.95, na.rm = TRUE),
      "strict in band", sum(x$cov90_strict >= 0.85 & x$cov90_strict <= 0.95, na.rm = TRUE),
      "ties-aware", sum(x$cov90_strict <= 0.95 & x$cov90_ties >= 0.85, na.rm = TRUE), "/", nrow(x),
      "failed origins", sum(x$failed), "\n")
}
