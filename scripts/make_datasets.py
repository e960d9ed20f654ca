"""Regenerate the datasets bundled in ``src/losskit/data/`` (deterministic).

``deliveries.csv``: 400 delivery times (minutes) from four features, a linear model
with Gaussian noise, plus 8% one-sided outliers (parcels scanned hours late: +40 to
+120 minutes). MSE is pulled towards the outliers; robust losses fit the bulk, so
scored by MAE on held-out folds a robust loss wins. Run:

    python scripts/make_datasets.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SEED = 20260115
N = 400
OUTLIER_FRACTION = 0.08
COLUMNS = ("distance_km", "items", "rush_hour", "rain_mm", "minutes")


def deliveries(seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    distance = rng.gamma(shape=2.0, scale=3.0, size=N)           # km
    items = rng.integers(1, 9, size=N).astype(float)
    rush_hour = (rng.random(N) < 0.3).astype(float)
    rain = np.round(rng.exponential(2.0, size=N) * (rng.random(N) < 0.4), 1)  # mm
    minutes = 12.0 + 3.0 * distance + 1.5 * items + 8.0 * rush_hour + 1.2 * rain
    minutes += rng.normal(0.0, 4.0, size=N)
    late = rng.choice(N, size=int(OUTLIER_FRACTION * N), replace=False)
    minutes[late] += rng.uniform(40.0, 120.0, size=late.size)
    return np.column_stack([np.round(distance, 2), items, rush_hour, rain,
                            np.round(minutes, 1)])


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "src" / "losskit" / "data" / "deliveries.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in deliveries():
            writer.writerow([f"{value:g}" for value in row])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
