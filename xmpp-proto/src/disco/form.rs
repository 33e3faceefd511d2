//! The part of XEP-0004 data forms that service discovery extensions
//! (XEP-0128), entity capabilities (XEP-0115 §5.1 step 6-7) and
//! configuration forms (multi-user chat rooms, XEP-0045 §10) need: the
//! form's type (§3.1), title and instructions, and its fields (§3.2) with
//! their `var`, `type` (§3.3), label, description, required flag, options
//! and values; and the submission of a filled-in form (§3.1 `submit`,
//! [`DataForm::submit`]). Reported results (§3.4, `<reported/>` and
//! `<item/>`) and media (XEP-0221) are not modelled (and not kept).

use crate::xml::Element;

use super::limits::{MAX_FIELDS, MAX_VALUES};
use super::DiscoParseError;

/// The XEP-0004 namespace.
pub const NS_DATA_FORMS: &str = "jabber:x:data";

/// The `var` of the hidden field naming a form's type (XEP-0068).
pub const FORM_TYPE: &str = "FORM_TYPE";

/// What a form is for (XEP-0004 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FormKind {
    /// A form to fill in.
    Form,
    /// A filled-in form.
    Submit,
    /// A cancelled form.
    Cancel,
    /// Data returned (what disco extensions carry).
    #[default]
    Result,
}

impl FormKind {
    /// The `type` attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Form => "form",
            FormKind::Submit => "submit",
            FormKind::Cancel => "cancel",
            FormKind::Result => "result",
        }
    }

    /// The kind named by a `type` attribute.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "form" => FormKind::Form,
            "submit" => FormKind::Submit,
            "cancel" => FormKind::Cancel,
            "result" => FormKind::Result,
            _ => return None,
        })
    }
}

/// A field's type (XEP-0004 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `boolean`.
    Boolean,
    /// `fixed`: text for people, no value to submit.
    Fixed,
    /// `hidden`: carried, not shown (`FORM_TYPE` is one).
    Hidden,
    /// `jid-multi`.
    JidMulti,
    /// `jid-single`.
    JidSingle,
    /// `list-multi`.
    ListMulti,
    /// `list-single`.
    ListSingle,
    /// `text-multi`.
    TextMulti,
    /// `text-private`.
    TextPrivate,
    /// `text-single` (also what a field without `type` means).
    TextSingle,
}

impl FieldType {
    /// The `type` attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Boolean => "boolean",
            FieldType::Fixed => "fixed",
            FieldType::Hidden => "hidden",
            FieldType::JidMulti => "jid-multi",
            FieldType::JidSingle => "jid-single",
            FieldType::ListMulti => "list-multi",
            FieldType::ListSingle => "list-single",
            FieldType::TextMulti => "text-multi",
            FieldType::TextPrivate => "text-private",
            FieldType::TextSingle => "text-single",
        }
    }

    /// The type named by a `type` attribute.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "boolean" => FieldType::Boolean,
            "fixed" => FieldType::Fixed,
            "hidden" => FieldType::Hidden,
            "jid-multi" => FieldType::JidMulti,
            "jid-single" => FieldType::JidSingle,
            "list-multi" => FieldType::ListMulti,
            "list-single" => FieldType::ListSingle,
            "text-multi" => FieldType::TextMulti,
            "text-private" => FieldType::TextPrivate,
            "text-single" => FieldType::TextSingle,
            _ => return None,
        })
    }
}

/// One choice of a `list-single` or `list-multi` field (XEP-0004 §3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FormOption {
    /// The text for people, if any.
    pub label: Option<String>,
    /// The value to submit.
    pub value: String,
}

/// One field of a form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FormField {
    /// The field's name (`None` only for `fixed` fields, which may omit it).
    pub var: Option<String>,
    /// The `type` attribute, when present.
    pub kind: Option<FieldType>,
    /// The `<value/>`s, in document order.
    pub values: Vec<String>,
    /// The `label` attribute: the field's name for people.
    pub label: Option<String>,
    /// The `<desc/>`: a longer explanation for people.
    pub desc: Option<String>,
    /// `<required/>`: the form is not valid without a value here.
    pub required: bool,
    /// The `<option/>`s of a list field, in document order.
    pub options: Vec<FormOption>,
}

impl FormField {
    /// A field `var` with these values and no `type`.
    pub fn new<I, S>(var: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FormField {
            var: Some(var.into()),
            values: values.into_iter().map(Into::into).collect(),
            ..FormField::default()
        }
    }

    /// The first value, if any (what a single-valued field holds).
    pub fn value(&self) -> Option<&str> {
        self.values.first().map(String::as_str)
    }

    /// With this `type`.
    pub fn with_type(mut self, kind: FieldType) -> Self {
        self.kind = Some(kind);
        self
    }

    fn parse(field: &Element) -> Result<Self, DiscoParseError> {
        let kind = match field.attr("type") {
            None => None,
            Some(t) => Some(
                FieldType::from_name(t)
                    .ok_or_else(|| DiscoParseError::UnknownFieldType(t.to_string()))?,
            ),
        };
        let mut values = Vec::new();
        let mut options = Vec::new();
        for c in field.children().filter(|c| c.ns() == NS_DATA_FORMS) {
            match c.local_name() {
                "value" => {
                    if values.len() == MAX_VALUES {
                        return Err(DiscoParseError::TooMany {
                            what: "values in a form field",
                            max: MAX_VALUES,
                        });
                    }
                    values.push(c.text().to_string());
                }
                "option" => {
                    if options.len() == MAX_VALUES {
                        return Err(DiscoParseError::TooMany {
                            what: "options in a form field",
                            max: MAX_VALUES,
                        });
                    }
                    options.push(FormOption {
                        label: c.attr("label").map(str::to_string),
                        value: c
                            .child_text(NS_DATA_FORMS, "value")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
        Ok(FormField {
            var: field.attr("var").map(str::to_string),
            kind,
            values,
            label: field.attr("label").map(str::to_string),
            desc: field
                .child_text(NS_DATA_FORMS, "desc")
                .map(|d| d.to_string()),
            required: field.child(NS_DATA_FORMS, "required").is_some(),
            options,
        })
    }

    fn to_element(&self) -> Element {
        let mut field = Element::new(NS_DATA_FORMS, "field");
        if let Some(var) = &self.var {
            field.set_attr("var", var.clone());
        }
        if let Some(kind) = self.kind {
            field.set_attr("type", kind.as_str());
        }
        if let Some(label) = &self.label {
            field.set_attr("label", label.clone());
        }
        if let Some(desc) = &self.desc {
            field.push_child(Element::new(NS_DATA_FORMS, "desc").with_text(desc.clone()));
        }
        if self.required {
            field.push_child(Element::new(NS_DATA_FORMS, "required"));
        }
        for o in &self.options {
            let mut option = Element::new(NS_DATA_FORMS, "option");
            if let Some(label) = &o.label {
                option.set_attr("label", label.clone());
            }
            option.push_child(Element::new(NS_DATA_FORMS, "value").with_text(o.value.clone()));
            field.push_child(option);
        }
        for v in &self.values {
            field.push_child(Element::new(NS_DATA_FORMS, "value").with_text(v.clone()));
        }
        field
    }
}

/// A data form: its kind, title, instructions and fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DataForm {
    /// The form's `type`.
    pub kind: FormKind,
    /// The `<title/>`, if any.
    pub title: Option<String>,
    /// The `<instructions/>`, in document order (one per paragraph).
    pub instructions: Vec<String>,
    /// The fields, in document order.
    pub fields: Vec<FormField>,
}

impl DataForm {
    /// A `result` form of type `form_type` (its hidden `FORM_TYPE` field)
    /// with these fields after it: what a disco#info extension is.
    pub fn result(
        form_type: impl Into<String>,
        fields: impl IntoIterator<Item = FormField>,
    ) -> Self {
        let mut all =
            vec![FormField::new(FORM_TYPE, [form_type.into()]).with_type(FieldType::Hidden)];
        all.extend(fields);
        DataForm {
            kind: FormKind::Result,
            fields: all,
            ..DataForm::default()
        }
    }

    /// The `submit` form answering this one (XEP-0004 §3.1): every field
    /// that has a `var` and is not `fixed`, with its values as they are now
    /// (the defaults the form came with, or what [`DataForm::set`] put
    /// there), and nothing for people (labels, options, title).
    pub fn submit(&self) -> DataForm {
        DataForm {
            kind: FormKind::Submit,
            fields: self
                .fields
                .iter()
                .filter(|f| f.var.is_some() && f.kind != Some(FieldType::Fixed))
                .map(|f| FormField {
                    var: f.var.clone(),
                    values: f.values.clone(),
                    ..FormField::default()
                })
                .collect(),
            ..DataForm::default()
        }
    }

    /// Sets the values of the field `var` (its first field of that name),
    /// or adds a field with them when the form has none.
    pub fn set<I, S>(&mut self, var: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        match self
            .fields
            .iter_mut()
            .find(|f| f.var.as_deref() == Some(var))
        {
            Some(f) => f.values = values,
            None => self.fields.push(FormField::new(var, values)),
        }
    }

    /// The value of the `FORM_TYPE` field, when the form has one with
    /// exactly one value (whatever its type).
    pub fn form_type(&self) -> Option<&str> {
        match self.field(FORM_TYPE)?.values.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The first field named `var`.
    pub fn field(&self, var: &str) -> Option<&FormField> {
        self.fields.iter().find(|f| f.var.as_deref() == Some(var))
    }

    /// Reads `<x xmlns='jabber:x:data'/>`: at most
    /// [`MAX_FIELDS`] fields of at most
    /// [`MAX_VALUES`] values each.
    pub fn parse(x: &Element) -> Result<Self, DiscoParseError> {
        if !x.is(NS_DATA_FORMS, "x") {
            return Err(DiscoParseError::WrongElement {
                ns: NS_DATA_FORMS,
                element: "x",
            });
        }
        let kind = match x.attr("type") {
            Some(t) => FormKind::from_name(t)
                .ok_or_else(|| DiscoParseError::UnknownFormType(t.to_string()))?,
            None => {
                return Err(DiscoParseError::MissingAttribute {
                    element: "x",
                    attribute: "type",
                })
            }
        };
        let mut fields = Vec::new();
        let mut instructions = Vec::new();
        for f in x.children().filter(|c| c.is(NS_DATA_FORMS, "field")) {
            if fields.len() == MAX_FIELDS {
                return Err(DiscoParseError::TooMany {
                    what: "fields in a data form",
                    max: MAX_FIELDS,
                });
            }
            fields.push(FormField::parse(f)?);
        }
        for i in x.children().filter(|c| c.is(NS_DATA_FORMS, "instructions")) {
            if instructions.len() == MAX_VALUES {
                return Err(DiscoParseError::TooMany {
                    what: "instructions in a data form",
                    max: MAX_VALUES,
                });
            }
            instructions.push(i.text().to_string());
        }
        Ok(DataForm {
            kind,
            title: x.child_text(NS_DATA_FORMS, "title").map(|t| t.to_string()),
            instructions,
            fields,
        })
    }

    /// The form as `<x xmlns='jabber:x:data' type='...'/>`.
    pub fn to_element(&self) -> Element {
        let mut x = Element::new(NS_DATA_FORMS, "x").with_attr("type", self.kind.as_str());
        if let Some(title) = &self.title {
            x.push_child(Element::new(NS_DATA_FORMS, "title").with_text(title.clone()));
        }
        for i in &self.instructions {
            x.push_child(Element::new(NS_DATA_FORMS, "instructions").with_text(i.clone()));
        }
        for f in &self.fields {
            x.push_child(f.to_element());
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_round_trips_and_names_its_type() {
        let form = DataForm::result(
            "urn:xmpp:dataforms:softwareinfo",
            [
                FormField::new("os", ["Mac"]),
                FormField::new("ip_version", ["ipv4", "ipv6"]).with_type(FieldType::TextMulti),
            ],
        );
        let back = DataForm::parse(&form.to_element()).expect("valid");
        assert_eq!(back, form);
        assert_eq!(back.form_type(), Some("urn:xmpp:dataforms:softwareinfo"));
        assert_eq!(back.field("ip_version").map(|f| f.values.len()), Some(2));
    }

    #[test]
    fn a_configuration_form_keeps_what_people_read_and_submits_its_values() {
        let mut form = DataForm {
            kind: FormKind::Form,
            title: Some("Configuration for coven".into()),
            instructions: vec!["Complete this form.".into()],
            fields: vec![
                FormField::new(FORM_TYPE, ["http://jabber.org/protocol/muc#roomconfig"])
                    .with_type(FieldType::Hidden),
                FormField {
                    kind: Some(FieldType::Fixed),
                    values: vec!["Room settings".into()],
                    ..FormField::default()
                },
                FormField {
                    label: Some("Room name".into()),
                    desc: Some("What people see".into()),
                    required: true,
                    ..FormField::new("muc#roomconfig_roomname", ["A Dark Cave"])
                        .with_type(FieldType::TextSingle)
                },
                FormField {
                    options: vec![
                        FormOption {
                            label: Some("Anyone".into()),
                            value: "anyone".into(),
                        },
                        FormOption {
                            label: None,
                            value: "moderators".into(),
                        },
                    ],
                    ..FormField::new("muc#roomconfig_whois", ["moderators"])
                        .with_type(FieldType::ListSingle)
                },
            ],
        };
        let back = DataForm::parse(&form.to_element()).expect("valid");
        assert_eq!(back, form);
        assert_eq!(
            back.field("muc#roomconfig_roomname")
                .and_then(FormField::value),
            Some("A Dark Cave")
        );
        form.set("muc#roomconfig_whois", ["anyone"]);
        form.set("muc#roomconfig_persistentroom", ["1"]);
        let submit = form.submit();
        assert_eq!(submit.kind, FormKind::Submit);
        assert_eq!(
            (submit.title.as_ref(), submit.instructions.len()),
            (None, 0)
        );
        let vars: Vec<_> = submit
            .fields
            .iter()
            .map(|f| (f.var.as_deref().unwrap_or("?"), f.values.join(",")))
            .collect();
        assert_eq!(
            vars,
            [
                (
                    FORM_TYPE,
                    "http://jabber.org/protocol/muc#roomconfig".to_string()
                ),
                ("muc#roomconfig_roomname", "A Dark Cave".into()),
                ("muc#roomconfig_whois", "anyone".into()),
                ("muc#roomconfig_persistentroom", "1".into()),
            ],
            "the fixed field is not submitted"
        );
        assert!(submit
            .fields
            .iter()
            .all(|f| f.label.is_none() && f.options.is_empty()));
    }

    #[test]
    fn bad_forms_are_typed_errors() {
        let x = || Element::new(NS_DATA_FORMS, "x");
        assert!(matches!(
            DataForm::parse(&x()),
            Err(DiscoParseError::MissingAttribute { .. })
        ));
        assert_eq!(
            DataForm::parse(&x().with_attr("type", "poll")),
            Err(DiscoParseError::UnknownFormType("poll".into()))
        );
        let bad_field = x()
            .with_attr("type", "result")
            .with_child(Element::new(NS_DATA_FORMS, "field").with_attr("type", "colour"));
        assert_eq!(
            DataForm::parse(&bad_field),
            Err(DiscoParseError::UnknownFieldType("colour".into()))
        );
        let mut many = x().with_attr("type", "result");
        for _ in 0..=MAX_FIELDS {
            many.push_child(Element::new(NS_DATA_FORMS, "field").with_attr("var", "v"));
        }
        assert!(matches!(
            DataForm::parse(&many),
            Err(DiscoParseError::TooMany {
                max: MAX_FIELDS,
                ..
            })
        ));
        let mut field = Element::new(NS_DATA_FORMS, "field").with_attr("var", "v");
        for _ in 0..=MAX_VALUES {
            field.push_child(Element::new(NS_DATA_FORMS, "value").with_text("x"));
        }
        assert!(matches!(
            DataForm::parse(&x().with_attr("type", "result").with_child(field)),
            Err(DiscoParseError::TooMany {
                max: MAX_VALUES,
                ..
            })
        ));
    }
}
