# The forecast test bed (issue 18): 24 public series with R's reference
# forecasts, evaluated by rolling origin.
#
#   Rscript benches/forecast_bed/bed.R        (from the repository root)
#
# Needs Debian's r-base-core and r-cran-forecast (R 4.2, forecast 8.20).
# Writes each series to benches/forecast_bed/series/NAME.csv (one `value`
# column, oldest first), the list to benches/forecast_bed/series.csv
# (name, class, seasonal periods, horizon, origins), and R's accuracy at
# every origin to benches/results/forecast_bed_r.csv.
#
# Origins: the last `origins` windows of `horizon` steps, each forecast
# from everything before it. Methods: ets() for monthly, quarterly and
# daily series; stlf() (MSTL + ETS, as headroom) for the series with two
# seasonal periods or one longer than ets() takes (24: weekly data), and
# tbats() beside it there (its MASE only: mase_tbats).
#
# Sources: R's datasets (AirPassengers … EuStockMarkets), forecast's data
# (gas, wineind, woolyrnq, taylor), the project's models/demand-hourly.csv,
# and co2_weekly.csv: weekly CO2 at Mauna Loa, 1958-03-29 to 2001-12-29,
# as shipped in statsmodels 0.15.0 (statsmodels/datasets/co2/co2.csv; 59
# missing weeks, interpolated linearly here). MASE is scaled by the in-sample mean absolute error of
# the seasonal naive forecast at the first period (1 without one).
suppressMessages(library(forecast))

bed <- list(
  # name, series, class, periods, horizon, origins
  list("AirPassengers", AirPassengers, "monthly", 12, 12, 3),
  list("co2", co2, "monthly", 12, 12, 3),
  list("nottem", nottem, "monthly", 12, 12, 3),
  list("USAccDeaths", USAccDeaths, "monthly", 12, 12, 2),
  list("ldeaths", ldeaths, "monthly", 12, 12, 2),
  list("mdeaths", mdeaths, "monthly", 12, 12, 2),
  list("fdeaths", fdeaths, "monthly", 12, 12, 2),
  list("UKDriverDeaths", UKDriverDeaths, "monthly", 12, 12, 3),
  list("Seatbelts_front", Seatbelts[, "front"], "monthly", 12, 12, 3),
  list("Seatbelts_rear", Seatbelts[, "rear"], "monthly", 12, 12, 3),
  list("Seatbelts_VanKilled", Seatbelts[, "VanKilled"], "monthly", 12, 12, 3),
  list("gas", gas, "monthly", 12, 12, 3),
  list("wineind", wineind, "monthly", 12, 12, 3),
  list("UKgas", UKgas, "quarterly", 4, 8, 3),
  list("JohnsonJohnson", JohnsonJohnson, "quarterly", 4, 8, 3),
  list("woolyrnq", woolyrnq, "quarterly", 4, 8, 3),
  list("austres", austres, "quarterly", 4, 8, 3),
  list("DAX", EuStockMarkets[, "DAX"], "daily", integer(0), 30, 8),
  list("FTSE", EuStockMarkets[, "FTSE"], "daily", integer(0), 30, 8),
  list("SMI", EuStockMarkets[, "SMI"], "daily", integer(0), 30, 8),
  list("CAC", EuStockMarkets[, "CAC"], "daily", integer(0), 30, 8),
  list("co2_weekly", "benches/forecast_bed/co2_weekly.csv", "weekly", 52, 52, 8),
  list("taylor", taylor, "subdaily", c(48, 336), 336, 4),
  list("demand_hourly", NULL, "subdaily", c(24, 168), 168, 6)
)

dir.create("benches/forecast_bed/series", showWarnings = FALSE, recursive = TRUE)
manifest <- data.frame()
rows <- data.frame()
for (b in bed) {
  name <- b[[1]]; y <- b[[2]]; class <- b[[3]]; periods <- b[[4]]; h <- b[[5]]; k <- b[[6]]
  if (is.null(y)) y <- read.csv("models/demand-hourly.csv")$rps
  if (is.character(y)) y <- read.csv(y)[[2]]
  y <- as.numeric(y)
  if (anyNA(y)) y <- approx(seq_along(y), y, seq_along(y))$y
  write.csv(data.frame(value = y), sprintf("benches/forecast_bed/series/%s.csv", name), row.names = FALSE)
  manifest <- rbind(manifest, data.frame(name = name, class = class,
    periods = paste(periods, collapse = ";"), horizon = h, origins = k))
  n <- length(y)
  lag <- if (length(periods) > 0) min(periods) else 1
  for (o in k:1) {
    end <- n - o * h
    tr <- y[1:end]; te <- y[(end + 1):(end + h)]
    if (length(periods) > 1 || any(periods > 24)) {
      fc <- stlf(msts(tr, seasonal.periods = periods), h = h, level = c(80, 95), method = "ets")
      method <- "stlf"
    } else {
      fc <- forecast(ets(ts(tr, frequency = max(1, periods))), h = h, level = c(80, 95))
      method <- "ets"
    }
    scale <- mean(abs(diff(tr, lag = lag)))
    e <- te - as.numeric(fc$mean)
    # TBATS beside stlf() where there are several or long seasons.
    mase_tbats <- NA
    if (method == "stlf") {
      tb <- forecast(tbats(msts(tr, seasonal.periods = periods)), h = h)
      mase_tbats <- mean(abs(te - as.numeric(tb$mean))) / scale
    }
    rows <- rbind(rows, data.frame(
      series = name, class = class, origin = end, horizon = h, method = method,
      mase = mean(abs(e)) / scale,
      smape = mean(200 * abs(e) / (abs(te) + abs(as.numeric(fc$mean)))),
      cov80 = mean(te >= fc$lower[, 1] & te <= fc$upper[, 1]),
      cov95 = mean(te >= fc$lower[, 2] & te <= fc$upper[, 2]),
      mase_tbats = mase_tbats))
    cat(sprintf("%-20s origin %6d %-5s MASE %.3f cov80 %.2f cov95 %.2f\n", name, end, method,
                tail(rows$mase, 1), tail(rows$cov80, 1), tail(rows$cov95, 1)))
  }
}
write.csv(manifest, "benches/forecast_bed/series.csv", row.names = FALSE)
write.csv(rows, "benches/results/forecast_bed_r.csv", row.names = FALSE)
by <- aggregate(cbind(cov80, cov95) ~ class, rows, mean)
print(by)
cat(sprintf("all: cov80 %.3f cov95 %.3f, MASE geometric mean %.3f\n",
            mean(rows$cov80), mean(rows$cov95), exp(mean(log(rows$mase)))))
