--[[
crossref.lua: the Quarto features the insights built-in renderer needs, for pandoc 3
(typst and html writers).

* Tables: a div `::: {#tbl-x tbl-cap="Caption"}` holding one table becomes that table,
  with the id and caption (Quarto's table syntax as written by insights.report).
* Cross references: `@fig-x`, `@tbl-x`, `@sec-x` become typst references (typst numbers
  them) or, in HTML, links reading "Figure 2.1" / "图 2.1" with the same numbers the PDF
  uses (chapter.number; appendix chapters lettered).
* Callouts: `::: {.callout-note}` (note, tip, warning, important, caution), title from a
  first heading or the `title` attribute.
* `::: {.insights-appendix}` (empty) marks where the appendix starts.

Anything else that looks like a citation is an error: the report has no bibliography.
]]

local stringify = pandoc.utils.stringify
local is_typst = FORMAT:match("typst") ~= nil
local lang = "zh"

local WORDS = {
  zh = { fig = "图", tbl = "表", sec = "第", sec_after = "\u{a0}节", sep = "\u{a0}", caption_sep = "\u{3000}",
         note = "说明", tip = "提示", warning = "注意", important = "重要", caution = "警示" },
  en = { fig = "Figure", tbl = "Table", sec = "Section", sec_after = "", sep = "\u{a0}", caption_sep = ". ",
         note = "Note", tip = "Tip", warning = "Warning", important = "Important", caution = "Caution" },
}
local CALLOUTS = { note = true, tip = true, warning = true, important = true, caution = true }

local function words() return WORDS[lang] or WORDS.en end

local function typst_inline(inlines)
  local out = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "typst")
  return (out:gsub("%s+$", ""))
end

-- 1. Structural rewrites: table divs, callouts, appendix marker ---------------------

local function table_div(div)
  local id = div.identifier
  local tables = {}
  for _, block in ipairs(div.content) do
    if block.t == "Table" then table.insert(tables, block) end
  end
  if #tables ~= 1 then
    error("insights: the div #" .. id .. " must hold exactly one table (found " .. #tables .. ")")
  end
  local tbl = tables[1]
  tbl.identifier = id
  local cap = div.attributes["tbl-cap"]
  if cap then
    tbl.caption = { long = pandoc.read(cap, "markdown").blocks, short = nil }
  end
  return tbl
end

local function callout(div, kind)
  local title = div.attributes["title"]
  local content = div.content
  local title_inlines
  if title then
    title_inlines = pandoc.read(title, "markdown").blocks[1].content
  elseif #content > 0 and content[1].t == "Header" then
    title_inlines = content[1].content
    content = pandoc.List({ table.unpack(content, 2) })
  end
  if is_typst then
    local head = '#insights-callout(kind: "' .. kind .. '"'
    if title_inlines then head = head .. ", title: [" .. typst_inline(title_inlines) .. "]" end
    local blocks = pandoc.List({ pandoc.RawBlock("typst", head .. ")[") })
    blocks:extend(content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local label = title_inlines or { pandoc.Str(words()[kind]) }
  local body = pandoc.List({ pandoc.Div({ pandoc.Plain(label) }, { class = "callout-title" }) })
  body:extend(content)
  return pandoc.Div(body, { class = "callout callout-" .. kind })
end

local function rewrite_div(div)
  if div.identifier:match("^tbl%-") then return table_div(div) end
  if div.classes:includes("insights-appendix") then
    if is_typst then return pandoc.RawBlock("typst", "#show: insights-appendix") end
    return div
  end
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind then
      if not CALLOUTS[kind] then error("insights: unknown callout type ." .. class) end
      return callout(div, kind)
    end
  end
  return nil
end

-- 2. Numbering, in document order ----------------------------------------------------

local LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

local function number_all(doc)
  local numbers = {}
  local appendix = false
  local counts = { 0, 0, 0 }
  local fig, tbl = 0, 0
  local function chapter_label()
    if appendix then return LETTERS:sub(counts[1], counts[1]) end
    return tostring(counts[1])
  end
  local function prefix_caption(el, word, n)
    if is_typst then return end
    local text = word .. words().sep .. n .. words().caption_sep
    local long = el.caption.long
    if #long == 0 then long = { pandoc.Plain({}) } end
    local first = long[1]
    first.content:insert(1, pandoc.Span({ pandoc.Str(text) }, { class = "caption-number" }))
    el.caption.long = long
  end
  doc = doc:walk({
    traverse = "topdown",
    Div = function(div)
      if div.classes:includes("insights-appendix") then
        appendix = true
        counts = { 0, 0, 0 }
      end
      return nil
    end,
    Header = function(h)
      if h.classes:includes("unnumbered") or h.level > 3 then return nil end
      counts[h.level] = counts[h.level] + 1
      for l = h.level + 1, 3 do counts[l] = 0 end
      if h.level == 1 then fig, tbl = 0, 0 end
      local parts = { chapter_label() }
      for l = 2, h.level do table.insert(parts, tostring(counts[l])) end
      local n = table.concat(parts, ".")
      if h.identifier ~= "" then numbers[h.identifier] = { words().sec, n } end
      if not is_typst then
        h.content:insert(1, pandoc.Space())
        h.content:insert(1, pandoc.Span({ pandoc.Str(n) }, { class = "header-section-number" }))
      end
      return h
    end,
    Figure = function(f)
      fig = fig + 1
      local n = chapter_label() .. "." .. fig
      if f.identifier ~= "" then numbers[f.identifier] = { words().fig, n } end
      prefix_caption(f, words().fig, n)
      return f
    end,
    Table = function(t)
      if #t.caption.long == 0 then return nil end
      tbl = tbl + 1
      local n = chapter_label() .. "." .. tbl
      if t.identifier ~= "" then numbers[t.identifier] = { words().tbl, n } end
      prefix_caption(t, words().tbl, n)
      return t
    end,
  })
  return doc, numbers
end

-- 3. References ----------------------------------------------------------------------

local function resolve_refs(doc, numbers)
  return doc:walk({
    Cite = function(cite)
      local out = pandoc.List({})
      for i, c in ipairs(cite.citations) do
        local id = c.id
        if not (id:match("^fig%-") or id:match("^tbl%-") or id:match("^sec%-")) then
          error("insights: unsupported citation @" .. id ..
                " (cross references must start with fig-, tbl- or sec-; the report has no bibliography)")
        end
        if not numbers[id] then error("insights: unknown cross reference @" .. id) end
        if i > 1 then out:insert(pandoc.Str(", ")) end
        if is_typst then
          out:insert(pandoc.RawInline("typst", "@" .. id))
        else
          local word, n = numbers[id][1], numbers[id][2]
          local text = word .. words().sep .. n
          if id:match("^sec%-") then text = word .. words().sep .. n .. words().sec_after end
          out:insert(pandoc.Link({ pandoc.Str(text) }, "#" .. id, "", { class = "xref" }))
        end
      end
      return out
    end,
  })
end

function Pandoc(doc)
  if doc.meta.lang then lang = stringify(doc.meta.lang):sub(1, 2) end
  doc = doc:walk({ Div = rewrite_div })
  local numbers
  doc, numbers = number_all(doc)
  return resolve_refs(doc, numbers)
end
