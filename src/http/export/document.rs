//! Finds the one connection of an export's query in its parsed document, and writes the
//! document of each page: the connection's `first` and `after` set, and its `pageInfo`
//! selected under a reserved alias.
use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Pos, Positioned,
    parser::types::{
        BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition,
        OperationType, Selection, SelectionSet, Type, TypeKind, TypeSystemDefinition,
    },
};
use async_graphql_value::Value;

/// The alias under which each page selects the connection's `pageInfo`.
pub const PAGE_INFO: &str = "_exportPageInfo";
/// The alias under which the first page selects the connection's `totalCount`.
pub const TOTAL_COUNT: &str = "_exportTotalCount";

/// What an export needs to know of the schema: the fields of each object and interface
/// type, read once from the SDL the server serves.
pub struct SchemaTypes {
    query: String,
    types: HashMap<String, HashMap<String, FieldType>>,
}

struct FieldType {
    /// The named type, lists and non-null stripped.
    named: String,
    /// Whether a list holds it, at any depth.
    list: bool,
    arguments: HashSet<String>,
}

impl SchemaTypes {
    pub fn from_sdl(sdl: &str) -> Self {
        let document = async_graphql::parser::parse_schema(sdl).expect("the served SDL parses");
        let mut query = "Query".to_owned();
        let mut types = HashMap::new();
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(name) = schema.node.query {
                        query = name.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let fields = match ty.node.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        // Unions have no fields but `__typename`; other kinds are leaves.
                        _ => Vec::new(),
                    };
                    let fields = fields
                        .into_iter()
                        .map(|field| {
                            let field = field.node;
                            let (named, list) = named(&field.ty.node);
                            let arguments = field
                                .arguments
                                .iter()
                                .map(|a| a.node.name.node.to_string())
                                .collect();
                            (
                                field.name.node.to_string(),
                                FieldType {
                                    named,
                                    list,
                                    arguments,
                                },
                            )
                        })
                        .collect();
                    types.insert(ty.node.name.node.to_string(), fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Self { query, types }
    }

    fn field(&self, ty: &str, field: &str) -> Option<&FieldType> {
        self.types.get(ty)?.get(field)
    }

    /// A connection: a field taking `first` and `after` whose type has `pageInfo` and a
    /// list of `edges` with a `node`.
    fn is_connection(&self, field: &FieldType) -> bool {
        !field.list
            && field.arguments.contains("first")
            && field.arguments.contains("after")
            && self.field(&field.named, "pageInfo").is_some()
            && self
                .field(&field.named, "edges")
                .is_some_and(|edges| edges.list && self.field(&edges.named, "node").is_some())
    }
}

fn named(ty: &Type) -> (String, bool) {
    match &ty.base {
        BaseType::Named(name) => (name.to_string(), false),
        BaseType::List(inner) => (named(inner).0, true),
    }
}

/// What the analysis of a document found.
pub enum Analysis {
    /// One connection to page through.
    Found(Box<Connection>),
    /// Not an export's document: a mutation, no connection, several.
    Refused(String),
    /// The document does not fit the schema (an unknown field, type, fragment or
    /// operation): GraphQL's own validation says best what is wrong.
    Invalid,
}

/// The connection of an export's query, and the document that pages through it.
#[derive(Debug)]
pub struct Connection {
    /// Response keys from the data's root to the connection.
    pub path: Vec<Name>,
    /// Response keys from the connection to its nodes: the edges' key then the node's
    /// (`edges { node }`), or the key of `nodes`.
    pub rows: Vec<Name>,
    /// What the query selects of each node, in its order.
    pub node: Shape,
    /// Whether the connection has a `totalCount` to check the size with first.
    pub counted: bool,
    /// The document without the connection's `first` and `after` (nor the variable
    /// definitions only they used), its `pageInfo` selected under [`PAGE_INFO`].
    template: ExecutableDocument,
    operation: Option<Name>,
    /// Every place of the document that selects the connection: a field may be selected
    /// more than once, and GraphQL merges them.
    sites: Vec<Site>,
}

impl Connection {
    /// The document of one page: `first: {first}`, `after: {after}`, and on the first page
    /// (`count`) the connection's `totalCount` under [`TOTAL_COUNT`].
    pub fn page(&self, first: u64, after: Option<&str>, count: bool) -> ExecutableDocument {
        let mut document = self.template.clone();
        for site in &self.sites {
            let field = field_at(&mut document, self.operation.as_ref(), site);
            field
                .arguments
                .push((at(Name::new("first")), at(Value::Number(first.into()))));
            if let Some(after) = after {
                field
                    .arguments
                    .push((at(Name::new("after")), at(Value::String(after.to_owned()))));
            }
            if count && self.counted {
                field
                    .selection_set
                    .node
                    .items
                    .push(injected(TOTAL_COUNT, "totalCount", &[]));
            }
        }
        document
    }
}

/// Where a selection of the connection stands: in the operation or a fragment, then the
/// index of each selection on the way down.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Site {
    fragment: Option<Name>,
    indices: Vec<usize>,
}

/// The connection of the operation that `operation_name` picks (as GraphQL picks it).
pub fn analyze(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    types: &SchemaTypes,
) -> Analysis {
    let Some((name, operation)) = pick(document, operation_name) else {
        return Analysis::Invalid;
    };
    match operation.ty {
        OperationType::Query => {}
        OperationType::Mutation => {
            return Analysis::Refused(
                "an export runs a query, and this operation is a mutation".to_owned(),
            );
        }
        OperationType::Subscription => {
            return Analysis::Refused(
                "an export runs a query, and this operation is a subscription".to_owned(),
            );
        }
    }
    let mut walk = Walk {
        document,
        types,
        found: Vec::new(),
        invalid: false,
        visiting: Vec::new(),
    };
    walk.set(
        &operation.selection_set.node,
        &types.query,
        &mut Vec::new(),
        None,
        &Site {
            fragment: None,
            indices: Vec::new(),
        },
    );
    if walk.invalid {
        return Analysis::Invalid;
    }
    let mut paths: Vec<&Vec<Name>> = Vec::new();
    for found in &walk.found {
        if !paths.contains(&&found.path) {
            paths.push(&found.path);
        }
    }
    let path = match paths.as_slice() {
        [] => {
            return Analysis::Refused(
                "the query holds no connection to export: select one list with `edges { node \
                 { … } }` that takes `first` and `after`, such as `submissions`"
                    .to_owned(),
            );
        }
        [path] => (*path).clone(),
        several => {
            let names: Vec<String> = several.iter().map(|p| format!("`{}`", dotted(p))).collect();
            return Analysis::Refused(format!(
                "the query holds {} connections ({}): an export takes exactly one",
                several.len(),
                names.join(", ")
            ));
        }
    };
    let found: Vec<&Found> = walk.found.iter().filter(|f| f.path == path).collect();
    if let Some(list) = found.iter().find_map(|f| f.inside_list.as_ref()) {
        return Analysis::Refused(format!(
            "the connection `{}` is inside the list `{}`, so it comes once per item: export \
             a query where it comes once",
            dotted(&path),
            dotted(list)
        ));
    }
    let rows = match &found[0].rows {
        Ok(rows) if found.iter().all(|f| f.rows.as_ref() == Ok(rows)) => rows.clone(),
        Ok(_) => return Analysis::Refused(ROWS_ONCE.to_owned()),
        Err(message) => return Analysis::Refused(message.clone()),
    };
    let mut sites: Vec<Site> = Vec::new();
    for f in &found {
        if !sites.contains(&f.site) {
            sites.push(f.site.clone());
        }
    }
    let counted = types
        .field(&found[0].connection_type, "totalCount")
        .is_some();
    let mut node = Shape::default();
    for f in &found {
        for set in row_selections(document, f.field, &rows) {
            node.add(document, set);
        }
    }
    Analysis::Found(Box::new(Connection {
        template: template(document, name.as_ref(), &sites),
        path,
        rows,
        node,
        counted,
        operation: name,
        sites,
    }))
}

const ROWS_ONCE: &str =
    "select the connection's rows once: `edges { node { … } }` or `nodes { … }`, not both";

fn dotted(path: &[Name]) -> String {
    path.iter().map(Name::as_str).collect::<Vec<_>>().join(".")
}

/// The operation GraphQL would run, and its name; None where it would refuse.
fn pick<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<Name>, &'d OperationDefinition)> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Some((None, &operation.node)),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get_key_value(name)
            .map(|(name, operation)| (Some(name.clone()), &operation.node)),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(name, operation)| (Some(name.clone()), &operation.node)),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// A connection selected somewhere in the operation.
struct Found<'d> {
    field: &'d Field,
    path: Vec<Name>,
    site: Site,
    connection_type: String,
    /// The path of a list it sits in, if any.
    inside_list: Option<Vec<Name>>,
    rows: Result<Vec<Name>, String>,
}

/// A walk through an operation's selections, its fragments expanded (the guard has
/// bounded their expanded size and refused cycles), typed by the schema.
struct Walk<'d> {
    document: &'d ExecutableDocument,
    types: &'d SchemaTypes,
    found: Vec<Found<'d>>,
    invalid: bool,
    visiting: Vec<&'d str>,
}

impl<'d> Walk<'d> {
    fn set(
        &mut self,
        set: &'d SelectionSet,
        ty: &str,
        path: &mut Vec<Name>,
        list: Option<&Vec<Name>>,
        site: &Site,
    ) {
        for (index, item) in set.items.iter().enumerate() {
            let mut here = site.clone();
            here.indices.push(index);
            match &item.node {
                Selection::Field(field) => self.field(&field.node, ty, path, list, &here),
                Selection::InlineFragment(inline) => {
                    let ty = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(ty, |condition| condition.node.on.node.as_str());
                    if !self.types.types.contains_key(ty) {
                        self.invalid = true;
                        return;
                    }
                    self.set(&inline.node.selection_set.node, ty, path, list, &here);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let Some((name, fragment)) = self.document.fragments.get_key_value(name) else {
                        self.invalid = true;
                        return;
                    };
                    let ty = fragment.node.type_condition.node.on.node.as_str();
                    if self.visiting.contains(&name.as_str()) || !self.types.types.contains_key(ty)
                    {
                        self.invalid = true;
                        return;
                    }
                    self.visiting.push(name.as_str());
                    let site = Site {
                        fragment: Some(name.clone()),
                        indices: Vec::new(),
                    };
                    self.set(&fragment.node.selection_set.node, ty, path, list, &site);
                    self.visiting.pop();
                }
            }
            if self.invalid {
                return;
            }
        }
    }

    fn field(
        &mut self,
        field: &'d Field,
        ty: &str,
        path: &mut Vec<Name>,
        list: Option<&Vec<Name>>,
        site: &Site,
    ) {
        let name = field.name.node.as_str();
        if name.starts_with("__") {
            // `__typename`, or introspection: no connection in there.
            return;
        }
        let Some(info) = self.types.field(ty, name) else {
            self.invalid = true;
            return;
        };
        path.push(field.response_key().node.clone());
        if self.types.is_connection(info)
            && let Some(rows) = rows(self.document, &field.selection_set.node)
        {
            self.found.push(Found {
                field,
                path: path.clone(),
                site: site.clone(),
                connection_type: info.named.clone(),
                inside_list: list.cloned(),
                rows,
            });
        }
        let inner = if info.list && list.is_none() {
            Some(path.clone())
        } else {
            list.cloned()
        };
        self.set(
            &field.selection_set.node,
            &info.named,
            path,
            inner.as_ref(),
            site,
        );
        path.pop();
    }
}

/// Where a connection's selection puts its rows: `[edges, node]` or `[nodes]` (response
/// keys); None where it selects none (only `totalCount`, say): then it is no connection
/// to export.
fn rows(document: &ExecutableDocument, set: &SelectionSet) -> Option<Result<Vec<Name>, String>> {
    let mut keys: Vec<Vec<Name>> = Vec::new();
    for edges in named_fields(document, set, "edges") {
        for node in named_fields(document, &edges.selection_set.node, "node") {
            let key = vec![
                edges.response_key().node.clone(),
                node.response_key().node.clone(),
            ];
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    for nodes in named_fields(document, set, "nodes") {
        let key = vec![nodes.response_key().node.clone()];
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    match keys.len() {
        0 => None,
        1 => keys.pop().map(Ok),
        _ => Some(Err(ROWS_ONCE.to_owned())),
    }
}

/// The selections of a connection's nodes (`edges { node { … } }` or `nodes { … }`),
/// `rows` being their response keys.
fn row_selections<'d>(
    document: &'d ExecutableDocument,
    connection: &'d Field,
    rows: &[Name],
) -> Vec<&'d SelectionSet> {
    let keyed = |set: &'d SelectionSet, name: &str, key: &Name| -> Vec<&'d Field> {
        named_fields(document, set, name)
            .into_iter()
            .filter(|field| &field.response_key().node == key)
            .collect()
    };
    match rows {
        [edges, node] => keyed(&connection.selection_set.node, "edges", edges)
            .into_iter()
            .flat_map(|edges| keyed(&edges.selection_set.node, "node", node))
            .map(|node| &node.selection_set.node)
            .collect(),
        [nodes] => keyed(&connection.selection_set.node, "nodes", nodes)
            .into_iter()
            .map(|nodes| &nodes.selection_set.node)
            .collect(),
        _ => Vec::new(),
    }
}

/// The response keys a selection asks for, in the order it asks for them (fragments
/// expanded in place, a key asked twice merged), each with what it asks of its value.
///
/// async-graphql resolves fields concurrently and puts them in its answer as they come,
/// so the answer's order is not the query's: columns follow this instead.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape(pub Vec<(Name, Shape)>);

impl Shape {
    fn add(&mut self, document: &ExecutableDocument, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    let index = match self.0.iter().position(|(k, _)| k == key) {
                        Some(index) => index,
                        None => {
                            self.0.push((key.clone(), Shape::default()));
                            self.0.len() - 1
                        }
                    };
                    self.0[index]
                        .1
                        .add(document, &field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.add(document, &inline.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    // The guard has refused fragments that spread themselves.
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.add(document, &fragment.node.selection_set.node);
                    }
                }
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&Shape> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, shape)| shape)
    }
}

/// The fields called `name` in a selection set, through its fragments.
fn named_fields<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    name: &str,
) -> Vec<&'d Field> {
    let mut fields = Vec::new();
    let mut sets = vec![set];
    let mut seen = HashSet::new();
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) if field.node.name.node == name => fields.push(&field.node),
                Selection::Field(_) => {}
                Selection::InlineFragment(inline) => sets.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let fragment = spread.node.fragment_name.node.as_str();
                    if seen.insert(fragment)
                        && let Some(fragment) = document.fragments.get(fragment)
                    {
                        sets.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    fields
}

/// The document with the connection's `first` and `after` taken out, the variable
/// definitions nothing else uses then dropped (GraphQL refuses unused variables), and
/// `pageInfo { hasNextPage endCursor }` selected under [`PAGE_INFO`].
fn template(
    document: &ExecutableDocument,
    operation: Option<&Name>,
    sites: &[Site],
) -> ExecutableDocument {
    let mut document = document.clone();
    let mut released = HashSet::new();
    for site in sites {
        let field = field_at(&mut document, operation, site);
        field.arguments.retain(|(name, value)| {
            let paging = matches!(name.node.as_str(), "first" | "after");
            if paging {
                variables_in(&value.node, &mut released);
            }
            !paging
        });
        field.selection_set.node.items.push(injected(
            PAGE_INFO,
            "pageInfo",
            &["hasNextPage", "endCursor"],
        ));
    }
    if !released.is_empty() {
        let used = used_variables(&document, operation);
        let operation = operation_mut(&mut document, operation);
        operation.variable_definitions.retain(|definition| {
            let name = &definition.node.name.node;
            !released.contains(name) || used.contains(name)
        });
    }
    document
}

fn at<T>(node: T) -> Positioned<T> {
    Positioned::new(node, Pos::default())
}

/// `alias: name { children }`, a selection the export adds.
fn injected(alias: &str, name: &str, children: &[&str]) -> Positioned<Selection> {
    let field = |alias: Option<&str>, name: &str, items: Vec<Positioned<Selection>>| {
        at(Selection::Field(at(Field {
            alias: alias.map(|alias| at(Name::new(alias))),
            name: at(Name::new(name)),
            arguments: Vec::new(),
            directives: Vec::new(),
            selection_set: at(SelectionSet { items }),
        })))
    };
    let items = children
        .iter()
        .map(|child| field(None, child, Vec::new()))
        .collect();
    field(Some(alias), name, items)
}

fn operation_mut<'d>(
    document: &'d mut ExecutableDocument,
    name: Option<&Name>,
) -> &'d mut OperationDefinition {
    match (&mut document.operations, name) {
        (DocumentOperations::Single(operation), _) => &mut operation.node,
        (DocumentOperations::Multiple(operations), Some(name)) => {
            &mut operations
                .get_mut(name)
                .expect("the analysed operation")
                .node
        }
        (DocumentOperations::Multiple(operations), None) => {
            &mut operations
                .values_mut()
                .next()
                .expect("the analysed operation")
                .node
        }
    }
}

/// The field a site stands for.
fn field_at<'d>(
    document: &'d mut ExecutableDocument,
    operation: Option<&Name>,
    site: &Site,
) -> &'d mut Field {
    let mut set = match &site.fragment {
        Some(name) => {
            &mut document
                .fragments
                .get_mut(name)
                .expect("the analysed fragment")
                .node
                .selection_set
                .node
        }
        None => &mut operation_mut(document, operation).selection_set.node,
    };
    let (last, path) = site.indices.split_last().expect("a site names a field");
    for index in path {
        set = match &mut set.items[*index].node {
            Selection::Field(field) => &mut field.node.selection_set.node,
            Selection::InlineFragment(inline) => &mut inline.node.selection_set.node,
            Selection::FragmentSpread(_) => unreachable!("a site does not pass a spread"),
        };
    }
    match &mut set.items[*last].node {
        Selection::Field(field) => &mut field.node,
        _ => unreachable!("a site ends at a field"),
    }
}

/// The variables an operation uses, in its selections and the fragments they spread.
fn used_variables(document: &ExecutableDocument, operation: Option<&Name>) -> HashSet<Name> {
    let mut used = HashSet::new();
    let (_, operation) =
        pick(document, operation.map(Name::as_str)).expect("the analysed operation");
    for directive in &operation.directives {
        for (_, value) in &directive.node.arguments {
            variables_in(&value.node, &mut used);
        }
    }
    let mut sets = vec![&operation.selection_set.node];
    let mut seen = HashSet::new();
    while let Some(set) = sets.pop() {
        for item in &set.items {
            for directive in item.node.directives() {
                for (_, value) in &directive.node.arguments {
                    variables_in(&value.node, &mut used);
                }
            }
            match &item.node {
                Selection::Field(field) => {
                    for (_, value) in &field.node.arguments {
                        variables_in(&value.node, &mut used);
                    }
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => sets.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if seen.insert(name.clone())
                        && let Some(fragment) = document.fragments.get(name)
                    {
                        for directive in &fragment.node.directives {
                            for (_, value) in &directive.node.arguments {
                                variables_in(&value.node, &mut used);
                            }
                        }
                        sets.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    used
}

fn variables_in(value: &Value, out: &mut HashSet<Name>) {
    match value {
        Value::Variable(name) => {
            out.insert(name.clone());
        }
        Value::List(items) => items.iter().for_each(|item| variables_in(item, out)),
        Value::Object(fields) => fields.values().for_each(|item| variables_in(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze_text(query: &str, operation: Option<&str>) -> Analysis {
        let types = SchemaTypes::from_sdl(&crate::graphql::sdl());
        let document = async_graphql::parser::parse_query(query).expect("parses");
        analyze(&document, operation, &types)
    }

    fn found(query: &str) -> Box<Connection> {
        match analyze_text(query, None) {
            Analysis::Found(connection) => connection,
            Analysis::Refused(message) => panic!("refused: {message}"),
            Analysis::Invalid => panic!("invalid"),
        }
    }

    fn refused(query: &str) -> String {
        match analyze_text(query, None) {
            Analysis::Refused(message) => message,
            Analysis::Found(c) => panic!("found {:?}", c.path),
            Analysis::Invalid => panic!("invalid"),
        }
    }

    fn names(names: &[&str]) -> Vec<Name> {
        names.iter().map(Name::new).collect()
    }

    #[test]
    fn the_connection_is_found_through_aliases_and_fragments() {
        let c = found(
            "query Q($n: Int, $code: String!) { agency(code: $code) { name } all: tasks(first: $n) { ...C } }
             fragment C on TaskConnection { totalCount e: edges { n: node { id no: number } } }",
        );
        assert_eq!(c.path, names(&["all"]));
        assert_eq!(c.rows, names(&["e", "n"]));
        assert!(c.counted);
        assert_eq!(
            c.node.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["id", "no"]
        );
        let page = c.page(100, Some("cursor"), true);
        let DocumentOperations::Multiple(operations) = &page.operations else {
            panic!("one named operation")
        };
        let operation = &operations[&Name::new("Q")].node;
        let variables: Vec<&str> = operation
            .variable_definitions
            .iter()
            .map(|v| v.node.name.node.as_str())
            .collect();
        assert_eq!(variables, ["code"], "`$n` served only `first`");
        let Selection::Field(field) = &operation.selection_set.node.items[1].node else {
            panic!("the connection")
        };
        let arguments: Vec<(&str, String)> = field
            .node
            .arguments
            .iter()
            .map(|(n, v)| (n.node.as_str(), v.node.to_string()))
            .collect();
        assert_eq!(
            arguments,
            [
                ("first", "100".to_owned()),
                ("after", "\"cursor\"".to_owned())
            ]
        );
        let injected: Vec<&str> = field
            .node
            .selection_set
            .node
            .items
            .iter()
            .filter_map(|item| match &item.node {
                Selection::Field(f) => f.node.alias.as_ref().map(|a| a.node.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(injected, [PAGE_INFO, TOTAL_COUNT]);
        let next = c.page(50, Some("next"), false);
        let DocumentOperations::Multiple(operations) = &next.operations else {
            panic!()
        };
        let Selection::Field(field) =
            &operations[&Name::new("Q")].node.selection_set.node.items[1].node
        else {
            panic!()
        };
        assert_eq!(
            field.node.selection_set.node.items.len(),
            2,
            "the fragment and pageInfo, no count after the first page"
        );
    }

    #[test]
    fn a_connection_in_a_fragment_is_edited_there() {
        let c =
            found("{ plan(code: \"x\") { ...P } } fragment P on Plan { tasks { nodes { id } } }");
        assert_eq!(c.path, names(&["plan", "tasks"]));
        assert_eq!(c.rows, names(&["nodes"]));
        let page = c.page(7, None, false);
        let field = &page.fragments[&Name::new("P")]
            .node
            .selection_set
            .node
            .items[0]
            .node;
        let Selection::Field(field) = field else {
            panic!()
        };
        assert_eq!(
            field.node.get_argument("first").unwrap().node.to_string(),
            "7"
        );
        assert!(field.node.get_argument("after").is_none());
    }

    #[test]
    fn what_is_not_one_connection_is_refused() {
        assert!(refused("mutation { logout }").contains("mutation"));
        assert!(refused("{ plans { totalCount } me { role } }").contains("no connection"));
        assert!(
            refused("{ plans { nodes { id } } tasks { nodes { id } } }").contains("2 connections")
        );
        assert!(
            refused("{ plans { nodes { id tasks { nodes { id } } } } }")
                .contains("`plans`, `plans.nodes.tasks`")
        );
        assert!(
            refused("{ plan(code: \"x\") { sections { plan { tasks { nodes { id } } } } } }")
                .contains("inside the list `plan.sections`")
        );
        assert!(refused("{ tasks { nodes { id } edges { node { id } } } }").contains("once"));
        // The same field twice is one connection, as GraphQL merges it.
        let c = found("{ tasks { nodes { id } } tasks { nodes { number } } }");
        assert_eq!(c.sites.len(), 2);
        assert_eq!(c.node.0.len(), 2);
    }

    #[test]
    fn documents_that_do_not_fit_the_schema_are_for_graphql_to_explain() {
        for (query, operation) in [
            ("{ bogus { edges { node { id } } } }", None),
            ("{ tasks { ... on Bogus { nodes { id } } } }", None),
            ("{ ...Missing }", None),
            (
                "query A { tasks { nodes { id } } } query B { plans { nodes { id } } }",
                None,
            ),
            ("query A { tasks { nodes { id } } }", Some("B")),
        ] {
            assert!(
                matches!(analyze_text(query, operation), Analysis::Invalid),
                "{query}"
            );
        }
        assert!(matches!(
            analyze_text(
                "query A { tasks { nodes { id } } } query B { plans { nodes { id } } }",
                Some("B")
            ),
            Analysis::Found(c) if c.path == names(&["plans"])
        ));
    }
}
