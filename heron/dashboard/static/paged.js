/* Long lists (an endpoint's profiled requests and outliers, a run class's runs) paged in
   the browser with DataTables, like the other tables, in the order the server gives them
   (newest or slowest first). <table data-heron-paged="N"> shows N rows a page. */
(function () {
  "use strict";
  document.querySelectorAll("table[data-heron-paged]").forEach(function (table) {
    const size = Number(table.dataset.heronPaged) || 10;
    if (table.tBodies[0].rows.length <= size) return;  // one page: nothing to page
    new DataTable(table, { pageLength: size, lengthChange: false, ordering: false,
                           info: true, searching: true });
  });
})();
