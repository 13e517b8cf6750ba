-- Quarto-style cross references (run before --citeproc, which would take @fig-x for a citation).
-- Floats are numbered in document order: a figure is a Figure with id fig-* or a div
-- .sb-float-fig (from sitebuild's Markdown); a table is a Table with id tbl-* or a div
-- .sb-float-tbl. A div's caption is its .sb-caption child. @fig-x / @tbl-x become links
-- "Figure 1" / "Table 2" ([-@fig-x] gives the number alone). fig-alt="..." sets image alt text.
-- An unresolved reference is a [WARNING] and a label used twice "[sitebuild] xref-duplicate".
local prefix = {fig = "Figure", tbl = "Table"}
local counts = {fig = 0, tbl = 0}
local numbers = {}

local function kind_of(id)
  local kind = id:match("^(%a+)%-")
  if kind and prefix[kind] then return kind end
end

local function register(id, kind)
  if numbers[id] then io.stderr:write("[sitebuild] xref-duplicate " .. id .. "\n") end
  counts[kind] = counts[kind] + 1
  numbers[id] = {kind = kind, n = counts[kind]}
  return counts[kind]
end

local function label(kind, n, caption)
  local inlines = pandoc.Inlines({pandoc.Str(prefix[kind] .. "\u{a0}" .. n)})
  if caption and #caption > 0 then
    inlines:insert(pandoc.Str(":"))
    inlines:insert(pandoc.Space())
    inlines:extend(caption)
  end
  return inlines
end

-- split a float div into its caption inlines and the remaining blocks
local function take_caption(div)
  local caption, rest = nil, pandoc.Blocks({})
  for _, block in ipairs(div.content) do
    if block.t == "Div" and block.classes:includes("sb-caption") then
      caption = pandoc.utils.blocks_to_inlines(block.content)
    else
      rest:insert(block)
    end
  end
  return caption, rest
end

local function float_div(div)
  local kind = div.classes:includes("sb-float-fig") and "fig"
    or (div.classes:includes("sb-float-tbl") and "tbl") or nil
  if not kind then return nil end
  local caption, content = take_caption(div)
  local id = div.identifier
  local numbered = id ~= "" and kind_of(id) == kind
  local text = caption
  if numbered then text = label(kind, register(id, kind), caption) end
  if kind == "fig" then
    local fig = pandoc.Figure(content, {pandoc.Plain(text or {})}, pandoc.Attr(id, {"sb-figure"}))
    if not text then fig.caption = {} end
    return fig, false
  end
  local blocks = pandoc.Blocks({})
  if text then
    blocks:insert(pandoc.Div({pandoc.Plain(text)}, pandoc.Attr("", {"sb-caption", "table-caption"})))
  end
  blocks:extend(content)
  return pandoc.Div(blocks, pandoc.Attr(id, {"sb-float", "sb-float-tbl"})), false
end

local function prefix_caption(long, kind, n)
  if #long == 0 then return {pandoc.Plain(label(kind, n, nil))} end
  local first = long[1]
  if first.t == "Plain" or first.t == "Para" then
    first.content = label(kind, n, first.content)
  else
    long:insert(1, pandoc.Plain(label(kind, n, nil)))
  end
  return long
end

local number_floats = {
  traverse = "topdown",
  Div = float_div,
  Figure = function(fig)
    if kind_of(fig.identifier) == "fig" and not numbers[fig.identifier] then
      local n = register(fig.identifier, "fig")
      fig.caption.long = prefix_caption(fig.caption.long, "fig", n)
      return fig
    end
  end,
  Table = function(tbl)
    if kind_of(tbl.identifier) == "tbl" and not numbers[tbl.identifier] then
      local n = register(tbl.identifier, "tbl")
      tbl.caption.long = prefix_caption(tbl.caption.long, "tbl", n)
      return tbl
    end
  end,
}

local function alt_text(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    img.caption = pandoc.Inlines(alt)
    return img
  end
end

local function is_crossref(id) return kind_of(id) ~= nil end

local function resolve(cite)
  for _, c in ipairs(cite.citations) do
    if not is_crossref(c.id) then return nil end
  end
  local out = pandoc.Inlines({})
  for i, c in ipairs(cite.citations) do
    if i > 1 then out:extend({pandoc.Str(","), pandoc.Space()}) end
    local entry = numbers[c.id]
    if entry then
      local text = c.mode == "SuppressAuthor" and tostring(entry.n)
        or (prefix[entry.kind] .. "\u{a0}" .. entry.n)
      local link = pandoc.Inlines(c.prefix)
      if #link > 0 then link:insert(pandoc.Space()) end
      link:insert(pandoc.Str(text))
      out:insert(pandoc.Link(link, "#" .. c.id, "", pandoc.Attr("", {"quarto-xref"})))
    else
      io.stderr:write("[WARNING] crossref: unresolved reference @" .. c.id .. "\n")
      out:insert(pandoc.Strong({pandoc.Str("?@" .. c.id)}))
    end
  end
  return out
end

function Pandoc(doc)
  doc.blocks = doc.blocks:walk(number_floats)
  doc.blocks = doc.blocks:walk({Image = alt_text, Cite = resolve})
  return doc
end
