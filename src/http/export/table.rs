//! An export's rows, flattened to columns named by the response keys from the node
//! (`agency.name`), and the CSV or XLSX file made of them.
use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
};

use async_graphql::{Name, Number, Value as ConstValue, indexmap::IndexMap};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::document::Shape;
use crate::http::spreadsheet::{BOM, text_cell};

/// What separates the items of a list in its one cell.
const LIST_SEPARATOR: &str = "; ";

/// The most characters an XLSX cell holds.
pub const XLSX_CELL_CHARS: usize = 32_767;

/// One cell: text, a number, a boolean, or nothing (a null).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(Number),
    Bool(bool),
}

impl Cell {
    fn text(&self) -> Option<String> {
        match self {
            Self::Empty => None,
            Self::Text(text) => Some(text.clone()),
            Self::Number(number) => Some(number.to_string()),
            Self::Bool(value) => Some(value.to_string()),
        }
    }

    /// What the cell weighs against the export's size limit.
    fn weight(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            _ => 8,
        }
    }
}

/// How large a table may grow.
#[derive(Clone, Copy, Debug)]
pub struct TableLimits {
    pub rows: usize,
    /// Bytes of cell content, all cells together.
    pub bytes: usize,
    /// Characters of one cell, where the format has a limit (XLSX).
    pub cell_chars: Option<usize>,
}

/// A table grown row by row. Columns come in the order they first appear; a path seen
/// only as null (or an empty list) keeps its place until it shows a value, or, if it is
/// an object, gives that place to its fields (`agency` → `agency.code`, `agency.name`).
pub struct Table {
    columns: Vec<Column>,
    by_path: HashMap<String, usize>,
    /// The paths of which some column is a field (`agency` for `agency.name`).
    parents: HashSet<String>,
    /// Column ids, in the order the file shows them.
    order: Vec<usize>,
    rows: Vec<Vec<(usize, Cell)>>,
    bytes: usize,
    limits: TableLimits,
}

struct Column {
    path: String,
    /// Seen only as null so far.
    placeholder: bool,
    /// A placeholder whose fields have been seen since: not a column of its own.
    replaced: bool,
}

/// Why a table cannot grow.
#[derive(Debug, PartialEq)]
pub enum Overflow {
    Rows,
    Bytes,
    Cell { column: String },
}

impl Table {
    pub fn new(limits: TableLimits) -> Self {
        Self {
            columns: Vec::new(),
            by_path: HashMap::new(),
            parents: HashSet::new(),
            order: Vec::new(),
            rows: Vec::new(),
            bytes: 0,
            limits,
        }
    }

    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Gives a table without rows the columns the query asks for (the paths to the
    /// fields it selects without subselection), so that an empty export still says what
    /// it would have held.
    pub fn head_from(&mut self, shape: &Shape) {
        fn leaves(shape: &Shape, prefix: &str, out: &mut Vec<String>) {
            for (key, inner) in &shape.0 {
                let path = match prefix {
                    "" => key.to_string(),
                    _ => format!("{prefix}.{key}"),
                };
                if inner.0.is_empty() {
                    out.push(path);
                } else {
                    leaves(inner, &path, out);
                }
            }
        }
        if !self.rows.is_empty() {
            return;
        }
        let mut paths = Vec::new();
        leaves(shape, "", &mut paths);
        for path in paths {
            self.column(path, false);
        }
    }

    /// Adds a node as a row, its fields in the order of `shape`. A node that is not an
    /// object (a scalar, null) is one cell under `key`.
    pub fn push(&mut self, node: &ConstValue, key: &str, shape: &Shape) -> Result<(), Overflow> {
        if self.rows.len() >= self.limits.rows {
            return Err(Overflow::Rows);
        }
        let mut cells = Vec::new();
        match node {
            ConstValue::Object(fields) => {
                in_order(fields, shape, |name, value, shape| {
                    flatten(value, name.to_string(), shape, &mut cells)
                });
            }
            other => flatten(other, key.to_owned(), shape, &mut cells),
        }
        let mut row = Vec::with_capacity(cells.len());
        for (path, cell) in cells {
            let Some(id) = self.column(path, cell == Cell::Empty) else {
                continue;
            };
            if cell == Cell::Empty {
                continue;
            }
            self.bytes += cell.weight();
            if self.bytes > self.limits.bytes {
                return Err(Overflow::Bytes);
            }
            if let (Some(max), Cell::Text(text)) = (self.limits.cell_chars, &cell)
                && text.len() > max
                && text.chars().count() > max
            {
                return Err(Overflow::Cell {
                    column: self.columns[id].path.clone(),
                });
            }
            row.push((id, cell));
        }
        self.rows.push(row);
        Ok(())
    }

    /// The column of `path`; None for a null whose path has fields as columns already.
    fn column(&mut self, path: String, null: bool) -> Option<usize> {
        if let Some(&id) = self.by_path.get(&path) {
            if !null {
                self.columns[id].placeholder = false;
                self.columns[id].replaced = false;
            }
            return Some(id);
        }
        if null && self.parents.contains(&path) {
            return None;
        }
        let id = self.columns.len();
        let position = self.place_of(&path);
        self.add_parents(&path);
        self.columns.push(Column {
            path: path.clone(),
            placeholder: null,
            replaced: false,
        });
        self.by_path.insert(path, id);
        self.order.insert(position, id);
        Some(id)
    }

    /// Where a new column goes: at the end, or, as a field of an object seen only as null
    /// so far, in the object's place (after the fields that took it already).
    fn place_of(&mut self, path: &str) -> usize {
        let mut ancestor = path;
        while let Some((parent, _)) = ancestor.rsplit_once('.') {
            ancestor = parent;
            let Some(&parent_id) = self.by_path.get(parent) else {
                continue;
            };
            if !self.columns[parent_id].placeholder {
                continue;
            }
            let prefix = format!("{parent}.");
            let mut position = 1 + self
                .order
                .iter()
                .position(|&c| c == parent_id)
                .expect("a column has a place");
            while position < self.order.len()
                && self.columns[self.order[position]].path.starts_with(&prefix)
            {
                position += 1;
            }
            self.columns[parent_id].replaced = true;
            return position;
        }
        self.order.len()
    }

    fn add_parents(&mut self, path: &str) {
        let mut rest = path;
        while let Some((parent, _)) = rest.rsplit_once('.') {
            if !self.parents.insert(parent.to_owned()) {
                break;
            }
            rest = parent;
        }
    }

    /// The columns shown, in order: (id, header).
    fn shown(&self) -> Vec<(usize, &str)> {
        self.order
            .iter()
            .filter(|&&id| !self.columns[id].replaced)
            .map(|&id| (id, self.columns[id].path.as_str()))
            .collect()
    }

    /// Each row's cells in the order of `shown`, empty where a row has none.
    fn grid(&self) -> (Vec<&str>, impl Iterator<Item = Vec<Option<&Cell>>>) {
        let shown = self.shown();
        let mut place = vec![None; self.columns.len()];
        for (index, (id, _)) in shown.iter().enumerate() {
            place[*id] = Some(index);
        }
        let width = shown.len();
        let headers = shown.into_iter().map(|(_, header)| header).collect();
        let rows = self.rows.iter().map(move |row| {
            let mut cells = vec![None; width];
            for (id, cell) in row {
                if let Some(index) = place[*id] {
                    cells[index] = Some(cell);
                }
            }
            cells
        });
        (headers, rows)
    }

    /// CSV in UTF-8 with a byte-order mark, a header row, text cells formula-safe (see
    /// `text_cell`).
    pub fn csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = BOM.as_bytes().to_vec();
        {
            let mut writer = csv::Writer::from_writer(&mut out);
            let (headers, rows) = self.grid();
            if !headers.is_empty() {
                writer.write_record(headers.iter().map(|h| bytes(text_cell(h))))?;
            }
            for row in rows {
                writer.write_record(
                    row.iter()
                        .map(|cell| match cell {
                            None | Some(Cell::Empty) => Cow::Borrowed(""),
                            Some(Cell::Text(text)) => text_cell(text),
                            Some(Cell::Number(number)) => Cow::Owned(number.to_string()),
                            Some(Cell::Bool(value)) => Cow::Owned(value.to_string()),
                        })
                        .map(bytes),
                )?;
            }
            writer.flush()?;
        }
        Ok(out)
    }

    /// A workbook of one sheet: a bold header row, text as text (never a formula), numbers
    /// as numbers, booleans as booleans.
    pub fn xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet();
        sheet.set_name("export")?;
        let (headers, rows) = self.grid();
        for (col, header) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *header, &bold)?;
        }
        if !headers.is_empty() {
            sheet.set_freeze_panes(1, 0)?;
        }
        for (index, row) in rows.enumerate() {
            let line = index as u32 + 1;
            for (col, cell) in row.iter().enumerate() {
                let col = col as u16;
                match cell {
                    None | Some(Cell::Empty) => {}
                    Some(Cell::Text(text)) => {
                        sheet.write_string(line, col, text)?;
                    }
                    Some(Cell::Number(number)) => {
                        sheet.write_number(line, col, number.as_f64().unwrap_or(f64::NAN))?;
                    }
                    Some(Cell::Bool(value)) => {
                        sheet.write_boolean(line, col, *value)?;
                    }
                }
            }
        }
        workbook.save_to_buffer()
    }
}

/// A CSV field as the writer takes it.
fn bytes(text: Cow<'_, str>) -> Cow<'_, [u8]> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

/// The fields of an object in the order of `shape` (then any it does not name).
fn in_order<'v, 's>(
    fields: &'v IndexMap<Name, ConstValue>,
    shape: &'s Shape,
    mut each: impl FnMut(&'v Name, &'v ConstValue, &'s Shape),
) {
    let mut done = 0;
    for (key, inner) in &shape.0 {
        if let Some((name, value)) = fields.get_key_value(key) {
            each(name, value, inner);
            done += 1;
        }
    }
    if done < fields.len() {
        static NONE: Shape = Shape(Vec::new());
        for (name, value) in fields {
            if shape.get(name).is_none() {
                each(name, value, &NONE);
            }
        }
    }
}

/// The cells of a value at `path`: a scalar is one cell; an object, the cells of its
/// fields (`path.field`); a list, one cell per path found in its items, their values
/// joined with "; " (`deliverables.status`); a null or an empty list, an empty cell.
fn flatten(value: &ConstValue, path: String, shape: &Shape, out: &mut Vec<(String, Cell)>) {
    match value {
        ConstValue::Null => out.push((path, Cell::Empty)),
        ConstValue::String(text) => out.push((path, Cell::Text(text.clone()))),
        ConstValue::Enum(name) => out.push((path, Cell::Text(name.to_string()))),
        ConstValue::Number(number) => out.push((path, Cell::Number(number.clone()))),
        ConstValue::Boolean(value) => out.push((path, Cell::Bool(*value))),
        ConstValue::Binary(bytes) => out.push((
            path,
            Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
        )),
        ConstValue::Object(fields) if fields.is_empty() => out.push((path, Cell::Empty)),
        ConstValue::Object(fields) => in_order(fields, shape, |name, value, shape| {
            flatten(value, format!("{path}.{name}"), shape, out)
        }),
        ConstValue::List(items) if items.is_empty() => out.push((path, Cell::Empty)),
        ConstValue::List(items) => {
            // Each path the items show, with each item's value (None where it has none),
            // so that the cells of one list line up item by item.
            let mut joined: Vec<(String, Vec<Option<String>>)> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            for (position, item) in items.iter().enumerate() {
                let mut cells = Vec::new();
                flatten(item, path.clone(), shape, &mut cells);
                for (cell_path, cell) in cells {
                    let slot = *index.entry(cell_path.clone()).or_insert_with(|| {
                        joined.push((cell_path, vec![None; items.len()]));
                        joined.len() - 1
                    });
                    joined[slot].1[position] = cell.text();
                }
            }
            for (cell_path, values) in joined {
                if values.iter().all(Option::is_none) {
                    out.push((cell_path, Cell::Empty));
                } else {
                    let texts: Vec<String> =
                        values.into_iter().map(Option::unwrap_or_default).collect();
                    out.push((cell_path, Cell::Text(texts.join(LIST_SEPARATOR))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::value as json;

    fn table(nodes: ConstValue) -> Table {
        let mut table = Table::new(TableLimits {
            rows: 100,
            bytes: 1_000_000,
            cell_chars: None,
        });
        let ConstValue::List(nodes) = nodes else {
            panic!("a list of nodes")
        };
        for node in &nodes {
            table.push(node, "node", &Shape::default()).unwrap();
        }
        table
    }

    fn csv_text(table: &Table) -> String {
        String::from_utf8(table.csv().unwrap())
            .unwrap()
            .trim_start_matches(BOM)
            .to_owned()
    }

    #[test]
    fn nested_objects_and_lists_flatten_to_paths() {
        let t = table(json!([
            { "id": "a", "agency": { "code": "x", "name": "X" }, "tags": ["p", "q"],
              "deliverables": [{ "status": "DONE", "ref": null }, { "status": "NOT", "ref": "r" }],
              "n": 3, "ok": true },
        ]));
        assert_eq!(
            csv_text(&t),
            "id,agency.code,agency.name,tags,deliverables.status,deliverables.ref,n,ok\n\
             a,x,X,p; q,DONE; NOT,; r,3,true\n"
        );
    }

    #[test]
    fn a_null_object_keeps_its_place_for_its_fields() {
        let t = table(json!([
            { "id": "a", "agency": null, "summary": null, "n": 1 },
            { "id": "b", "agency": { "code": "x" }, "summary": "s", "n": 2 },
            { "id": "c", "agency": null, "summary": null, "n": 3 },
        ]));
        assert_eq!(
            csv_text(&t),
            "id,agency.code,summary,n\na,,,1\nb,x,s,2\nc,,,3\n"
        );
        let never = table(json!([{ "id": "a", "review": null, "items": [] }]));
        assert_eq!(csv_text(&never), "id,review,items\na,,\n");
        let deeper = table(json!([{ "x": null, "n": 1 }, { "x": { "y": null }, "n": 2 }]));
        assert_eq!(csv_text(&deeper), "x.y,n\n,1\n,2\n");
    }

    #[test]
    fn columns_follow_the_query_not_the_answer() {
        // async-graphql answers fields in the order they resolve.
        let answer = json!({ "period": { "code": "2024" }, "id": "a", "agency": { "name": "X", "code": "x" } });
        let shape = |keys: &[(&str, Shape)]| {
            Shape(
                keys.iter()
                    .map(|(k, s)| (Name::new(k), s.clone()))
                    .collect(),
            )
        };
        let query = shape(&[
            ("id", Shape::default()),
            (
                "agency",
                shape(&[("code", Shape::default()), ("name", Shape::default())]),
            ),
            ("period", shape(&[("code", Shape::default())])),
        ]);
        let mut t = Table::new(TableLimits {
            rows: 10,
            bytes: 1_000,
            cell_chars: None,
        });
        t.push(&answer, "node", &query).unwrap();
        assert_eq!(
            csv_text(&t),
            "id,agency.code,agency.name,period.code\na,x,X,2024\n"
        );
    }

    #[test]
    fn an_empty_table_has_the_columns_the_query_asks_for() {
        let shape = Shape(vec![
            (Name::new("id"), Shape::default()),
            (
                Name::new("agency"),
                Shape(vec![(Name::new("code"), Shape::default())]),
            ),
        ]);
        let mut t = table(json!([]));
        t.head_from(&shape);
        assert_eq!(csv_text(&t), "id,agency.code\n");
    }

    #[test]
    fn formulas_are_neutralized_in_csv_only() {
        let t = table(json!([{ "summary": "=1+1", "n": -2 }]));
        assert_eq!(csv_text(&t), "summary,n\n'=1+1,-2\n");
    }

    #[test]
    fn limits_stop_the_table() {
        let mut t = Table::new(TableLimits {
            rows: 1,
            bytes: 10,
            cell_chars: Some(3),
        });
        let value = |v: ConstValue| v;
        let none = Shape::default();
        assert_eq!(
            t.push(&value(json!({ "a": "abcd" })), "node", &none),
            Err(Overflow::Cell { column: "a".into() })
        );
        assert_eq!(t.push(&value(json!({ "a": "abc" })), "node", &none), Ok(()));
        assert_eq!(
            t.push(&value(json!({ "a": "b" })), "node", &none),
            Err(Overflow::Rows)
        );
        let mut t = Table::new(TableLimits {
            rows: 10,
            bytes: 10,
            cell_chars: None,
        });
        assert_eq!(
            t.push(&value(json!({ "a": "abcdefghijk" })), "node", &none),
            Err(Overflow::Bytes)
        );
    }
}
