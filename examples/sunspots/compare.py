#!/usr/bin/env python3
"""Scores one-step-ahead forecasts of the last years against a naive last-value forecast.

usage: compare.py DATA.csv PREDICTIONS.csv YEARS

PREDICTIONS.csv is what `recur predict` wrote for a forecasting model: its row `step` holds
the forecast of DATA's row `step` made from the rows before it. Only the standard library.
"""
import csv
import sys


def main():
    data_path, predictions_path, years = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(data_path) as f:
        rows = list(csv.reader(f))[1:]
    year = [int(r[0]) for r in rows]
    value = [float(r[1]) for r in rows]
    with open(predictions_path) as f:
        forecast = {int(r[0]): float(r[1]) for r in list(csv.reader(f))[1:]}
    test = range(len(value) - years, len(value))
    print(f"{'year':>6} {'actual':>8} {'recur':>8} {'naive':>8}")
    for t in test:
        print(f"{year[t]:>6} {value[t]:>8.1f} {forecast[t]:>8.1f} {value[t - 1]:>8.1f}")
    recur_mae = sum(abs(forecast[t] - value[t]) for t in test) / years
    naive_mae = sum(abs(value[t - 1] - value[t]) for t in test) / years
    print(f"mean absolute error over {year[test[0]]}-{year[test[-1]]}: "
          f"recur {recur_mae:.2f}, naive last value {naive_mae:.2f}")


if __name__ == "__main__":
    main()
