-- Conditional content: .content-visible / .content-hidden with when-profile, unless-profile,
-- when-format, unless-format, when-meta, unless-meta (Quarto semantics; this target is html).
local profiles = {}
local meta = {}
local html_formats = {html = true, html5 = true, ["html:js"] = true, website = true}

local function split(value)
  local out = {}
  for item in tostring(value):gmatch("[^,%s]+") do out[#out + 1] = item end
  return out
end

local function any(values, pred)
  for _, v in ipairs(values) do if pred(v) then return true end end
  return false
end

local function truthy(key)
  local node = meta
  for part in key:gmatch("[^.]+") do
    if type(node) ~= "table" then return false end
    node = node[part]
  end
  if node == nil or node == false then return false end
  return pandoc.utils.stringify(node) ~= "false"
end

local function conditions_hold(el)
  local a = el.attributes
  local checks = {
    {"when-profile", function(v) return profiles[v] end, true},
    {"unless-profile", function(v) return profiles[v] end, false},
    {"when-format", function(v) return html_formats[v] end, true},
    {"unless-format", function(v) return html_formats[v] end, false},
    {"when-meta", truthy, true},
    {"unless-meta", truthy, false},
  }
  for _, check in ipairs(checks) do
    local value = a[check[1]]
    if value then
      if any(split(value), check[2]) ~= check[3] then return false end
    end
  end
  return true
end

local function resolve(el, empty)
  local visible = el.classes:includes("content-visible")
  local hidden = el.classes:includes("content-hidden")
  if not (visible or hidden) then return nil end
  local holds = conditions_hold(el)
  if (visible and holds) or (hidden and not holds) then return el.content end
  return empty
end

return {
  {Meta = function(m)
    meta = m
    local list = m["sitebuild-profiles"]
    if list then
      for _, p in ipairs(type(list) == "table" and list or {list}) do
        profiles[pandoc.utils.stringify(p)] = true
      end
    end
  end},
  {Div = function(div) return resolve(div, {}) end,
   Span = function(span) return resolve(span, pandoc.Inlines({})) end},
}
