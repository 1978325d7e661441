//! Generated definitions of analyses and dashboards: sheets of visuals over
//! their datasets, in the service model's own shapes (each visual kind with
//! its own field wells and sort configuration), the same for the same seed.
//! Bundles carry them and `Describe*Definition` returns them.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};

const KINDS: [&str; 6] = [
    "BarChartVisual",
    "LineChartVisual",
    "PieChartVisual",
    "TableVisual",
    "KPIVisual",
    "PivotTableVisual",
];

const COLUMNS: [&str; 9] = [
    "amount", "quantity", "margin", "discount", "region", "channel", "segment", "country", "product",
];

/// One measure by one dimension.
struct Fields {
    measure_id: String,
    measure: Value,
    dimension: Value,
}

/// The chart configuration of a visual `kind`, and whether the kind has
/// column hierarchies (tables and pivot tables have none).
fn chart_configuration(kind: &str, f: &Fields) -> (Value, bool) {
    let sort = json!([{"FieldSort": {"FieldId": f.measure_id, "Direction": "DESC"}}]);
    let legend = json!({"Visibility": "VISIBLE", "Position": "RIGHT"});
    let labels = json!({"Visibility": "HIDDEN", "Overlap": "DISABLE_OVERLAP"});
    let tooltip = json!({"TooltipVisibility": "VISIBLE", "SelectedTooltipType": "DETAILED"});
    let (m, d) = (&f.measure, &f.dimension);
    let charted = |wells: &str| {
        json!({
            "FieldWells": {wells: {"Category": [d], "Values": [m]}},
            "SortConfiguration": {"CategorySort": sort},
            "Legend": legend, "DataLabels": labels, "Tooltip": tooltip
        })
    };
    match kind {
        "BarChartVisual" => (charted("BarChartAggregatedFieldWells"), true),
        "LineChartVisual" => (charted("LineChartAggregatedFieldWells"), true),
        "PieChartVisual" => (charted("PieChartAggregatedFieldWells"), true),
        "TableVisual" => (
            json!({
                "FieldWells": {"TableAggregatedFieldWells": {"GroupBy": [d], "Values": [m]}},
                "SortConfiguration": {"RowSort": sort},
                "Tooltip": tooltip
            }),
            false,
        ),
        "KPIVisual" => (
            json!({
                "FieldWells": {"Values": [m], "TrendGroups": [d]},
                "SortConfiguration": {"TrendGroupSort": sort}
            }),
            true,
        ),
        _ => (
            json!({
                "FieldWells": {"PivotTableAggregatedFieldWells": {"Rows": [d], "Values": [m]}},
                "SortConfiguration": {"FieldSortOptions": [{"FieldId": f.measure_id,
                    "SortBy": {"Field": {"FieldId": f.measure_id, "Direction": "DESC"}}}]},
                "Tooltip": tooltip
            }),
            false,
        ),
    }
}

/// The definition of an analysis or dashboard: sheets of visuals over its
/// datasets, tens of KB, the same for the same seed.
pub fn definition_json(seed: u64, visuals: u32, data_set_arns: &[String]) -> Value {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let decls: Vec<Value> = data_set_arns
        .iter()
        .enumerate()
        .map(|(i, arn)| json!({"Identifier": format!("ds{i}"), "DataSetArn": arn}))
        .collect();
    let mut sheets = Vec::new();
    let per_sheet = 12u32;
    let sheet_count = visuals.div_ceil(per_sheet).max(1);
    for s in 0..sheet_count {
        let mut vis = Vec::new();
        for v in 0..per_sheet.min(visuals.saturating_sub(s * per_sheet)) {
            let kind = KINDS[rng.random_range(0..KINDS.len())];
            let ds = format!("ds{}", rng.random_range(0..decls.len().max(1)));
            let vid: u64 = rng.random();
            let measure = COLUMNS[rng.random_range(0..4)];
            let dim = COLUMNS[rng.random_range(4..COLUMNS.len())];
            let agg = ["SUM", "AVERAGE", "MAX"][rng.random_range(0..3)];
            let fields = Fields {
                measure_id: format!("{vid:016x}.{measure}"),
                measure: json!({"NumericalMeasureField": {"FieldId": format!("{vid:016x}.{measure}"),
                    "Column": {"DataSetIdentifier": ds, "ColumnName": measure},
                    "AggregationFunction": {"SimpleNumericalAggregation": agg}}}),
                dimension: json!({"CategoricalDimensionField": {"FieldId": format!("{vid:016x}.{dim}"),
                    "Column": {"DataSetIdentifier": ds, "ColumnName": dim}}}),
            };
            let (configuration, hierarchies) = chart_configuration(kind, &fields);
            let mut visual = json!({
                "VisualId": format!("{vid:016x}"),
                "Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": format!("{measure} by {dim} #{v}")}},
                "Subtitle": {"Visibility": "HIDDEN"},
                "ChartConfiguration": configuration,
                "Actions": []
            });
            if hierarchies {
                visual["ColumnHierarchies"] = json!([]);
            }
            vis.push(json!({ kind: visual }));
        }
        sheets.push(
            json!({"SheetId": format!("sheet-{s}"), "Name": format!("Sheet {}", s + 1), "ContentType": "INTERACTIVE",
            "Visuals": vis, "Layouts": [{"Configuration": {"GridLayout": {"Elements": []}}}]}),
        );
    }
    json!({
        "DataSetIdentifierDeclarations": decls,
        "Sheets": sheets,
        "CalculatedFields": [{"DataSetIdentifier": "ds0", "Name": "margin_pct", "Expression": "{margin} / {amount}"}],
        "ParameterDeclarations": [{"StringParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": "Region",
            "DefaultValues": {"StaticValues": ["EMEA"]}}}],
        "FilterGroups": [],
        "AnalysisDefaults": {"DefaultNewSheetConfiguration": {"SheetContentType": "INTERACTIVE"}}
    })
}
