//! Reads JSON the browser has parsed (a `JsValue`) into our serde types: a small `serde::Deserializer`.
//!
//! Why not serde-wasm-bindgen's deserializer: on any mismatch it builds serde's descriptive error text
//! ("invalid type: floating point `1.5`, expected …"), and that text pulls `f64` formatting into the
//! WebAssembly — about 12 KB of the 25 KB that reading JSON cost (measured; docs/toolchain.md). A
//! client that cannot read an answer only ever says "the answer could not be read", so this
//! deserializer's one error carries no text, and nothing formats the value it did not expect.
//! (Request bodies are still written by serde-wasm-bindgen.)

use js_sys::{Array, Object, Reflect};
use leptos::wasm_bindgen::{JsCast, JsValue};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use std::fmt;

/// The largest integer a JSON number (an `f64`) holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A value of `T` from parsed JSON, or `None` when it does not have `T`'s shape.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    T::deserialize(Js(value)).ok()
}

/// The one error: the value does not have the expected shape. Every constructor drops its details.
#[derive(Debug)]
pub struct Unreadable;

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the JSON does not have the expected shape")
    }
}

impl std::error::Error for Unreadable {}

impl de::Error for Unreadable {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unreadable
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Unreadable
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Unreadable
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Unreadable
    }
    fn missing_field(_: &'static str) -> Self {
        Unreadable
    }
    fn duplicate_field(_: &'static str) -> Self {
        Unreadable
    }
}

struct Js(JsValue);

/// What a JSON value is. Told apart once, outside the generic code: `deserialize_any` is compiled once
/// per type read, and only the visitor calls need to be.
enum Kind {
    Nothing,
    Bool(bool),
    Integer(i64),
    Number(f64),
    Text(String),
    Array(Array),
    Object(Object),
    Other,
}

#[inline(never)]
fn kind(value: JsValue) -> Kind {
    if value.is_null() || value.is_undefined() {
        Kind::Nothing
    } else if let Some(flag) = value.as_bool() {
        Kind::Bool(flag)
    } else if let Some(number) = value.as_f64() {
        // Ids, versions and times are integers; JSON carries them exactly up to 2^53.
        if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
            #[allow(clippy::cast_possible_truncation)]
            Kind::Integer(number as i64)
        } else {
            Kind::Number(number)
        }
    } else if let Some(text) = value.as_string() {
        Kind::Text(text)
    } else if Array::is_array(&value) {
        Kind::Array(value.unchecked_into())
    } else if value.is_object() {
        Kind::Object(value.unchecked_into())
    } else {
        Kind::Other
    }
}

impl<'de> Deserializer<'de> for Js {
    type Error = Unreadable;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        match kind(self.0) {
            Kind::Nothing => visitor.visit_unit(),
            Kind::Bool(flag) => visitor.visit_bool(flag),
            Kind::Integer(number) => visitor.visit_i64(number),
            Kind::Number(number) => visitor.visit_f64(number),
            Kind::Text(text) => visitor.visit_string(text),
            Kind::Array(array) => visitor.visit_seq(Items { array, next: 0 }),
            Kind::Object(object) => visitor.visit_map(Fields {
                keys: Object::keys(&object),
                object,
                next: 0,
                value: None,
            }),
            Kind::Other => Err(Unreadable),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unreadable> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// Our enums travel as their variant's name (`"not_found"`, `"verified"`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unreadable> {
        match self.0.as_string() {
            Some(name) => visitor.visit_enum(name.into_deserializer()),
            None => Err(Unreadable),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The elements of an array.
struct Items {
    array: Array,
    next: u32,
}

impl<'de> SeqAccess<'de> for Items {
    type Error = Unreadable;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unreadable> {
        if self.next >= self.array.length() {
            return Ok(None);
        }
        let item = self.array.get(self.next);
        self.next += 1;
        seed.deserialize(Js(item)).map(Some)
    }
}

/// The fields of an object, in the order the browser lists them.
struct Fields {
    object: Object,
    keys: Array,
    next: u32,
    value: Option<JsValue>,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Unreadable;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unreadable> {
        if self.next >= self.keys.length() {
            return Ok(None);
        }
        let key = self.keys.get(self.next);
        self.next += 1;
        self.value = Some(Reflect::get(&self.object, &key).map_err(|_| Unreadable)?);
        seed.deserialize(Js(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Unreadable> {
        seed.deserialize(Js(self.value.take().unwrap_or(JsValue::UNDEFINED)))
    }
}
